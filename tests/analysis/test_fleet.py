"""Fleet statistics: robust z, figures from Runs, outlier GPUs and nodes."""

from __future__ import annotations

import pytest

from exabench.analysis import fleet


def test_robust_z_hand_computed() -> None:
    # median 10, |dev| = [0, 0, 1, 1, 10] -> MAD 1; z = 0.6745 * dev / 1
    z = fleet.robust_z([10, 10, 11, 9, 0])
    assert z == pytest.approx([0, 0, 0.6745, -0.6745, -6.745])


def test_robust_z_when_mad_is_zero_uses_mean_absolute_deviation() -> None:
    z = fleet.robust_z([5, 5, 5, 5, 4])  # MAD 0; mean |dev| 0.2
    assert z == pytest.approx([0, 0, 0, 0, -1 / (1.2533 * 0.2)])
    assert fleet.robust_z([3, 3, 3]) == [0, 0, 0]
    assert fleet.robust_z([]) == []


def _gpu(rank: int, host: str, tflops: float, gbps: float = 3000.0) -> dict:
    return {"rank": rank, "host": host, "local_rank": rank % 8,
            "figures": {"gemm/gemm_bf16[m=8192]:tflops": tflops, "memory/copy[bytes=1]:gbps": gbps}}


def test_one_slow_gpu_is_flagged_with_its_node() -> None:
    gpus = [_gpu(r, f"node{r // 8}", 700.0 + (r % 5)) for r in range(16)]
    gpus[11]["figures"]["gemm/gemm_bf16[m=8192]:tflops"] = 560.0  # 20 % slow: throttled
    summary = fleet.summarize_fleet(gpus)
    assert summary["verdict"] == "outliers" and summary["gpus"] == 16 and summary["nodes"] == 2
    assert [g["rank"] for g in summary["flagged_gpus"]] == [11]
    assert summary["flagged_gpus"][0]["worst_z"] < -3.5
    assert summary["flagged_nodes"] == [{"host": "node1", "gpus": 8, "flagged_ranks": [11]}]
    gemm = next(f for f in summary["figures"] if f["figure"].startswith("gemm"))
    assert gemm["median"] == pytest.approx(702.0) and gemm["min"] == 560.0
    assert gemm["spread_pct"] == pytest.approx(100 * (704 - 560) / 702)


def test_fast_outliers_and_tiny_deviations_are_not_flagged() -> None:
    gpus = [_gpu(r, "n", 700.0) for r in range(8)]
    gpus[2]["figures"]["gemm/gemm_bf16[m=8192]:tflops"] = 800.0  # fast: listed, not flagged
    gpus[3]["figures"][
        "gemm/gemm_bf16[m=8192]:tflops"
    ] = 695.0  # z is large (MAD 0) but only 0.7 % slow
    summary = fleet.summarize_fleet(gpus)
    assert summary["flagged_gpus"] == [] and summary["verdict"] == "ok"
    gemm = next(f for f in summary["figures"] if f["figure"].startswith("gemm"))
    assert [o["direction"] for o in gemm["outliers"]] == ["fast"]


def test_too_few_gpus_flag_nothing() -> None:
    gpus = [_gpu(0, "n", 700), _gpu(1, "n", 701), _gpu(2, "n", 699), _gpu(3, "n", 100)]
    assert fleet.summarize_fleet(gpus)["flagged_gpus"] == []  # 4 < MIN_GPUS
    assert fleet.summarize_fleet(gpus, min_gpus=4)["flagged_gpus"][0]["rank"] == 3


def test_errors_make_the_verdict() -> None:
    gpus = [_gpu(r, "n", 700) for r in range(5)]
    gpus[4]["error"] = "local suites ended with exit code 1"
    assert fleet.summarize_fleet(gpus)["verdict"] == "errors"


def test_figures_from_any_suite() -> None:
    doc = {
        "results": [
            {
                "suite": "gemm",
                "name": "gemm_bf16",
                "params": {"m": 1, "label": "x"},
                "status": "ok",
                "metrics": {"tflops": 700.0, "pct_of_peak": 70.0},
            },
            {
                "suite": "memory",
                "name": "copy",
                "params": {"bytes": 8},
                "status": "ok",
                "metrics": {"gbps": 3000.0},
            },
            {
                "suite": "links",
                "name": "h2d",
                "params": {},
                "status": "ok",
                "metrics": {"gbps": 50.0},
            },
            {"suite": "gemm", "name": "gemm_fp8", "params": {}, "status": "skipped", "metrics": {}},
            {
                "suite": "power",
                "name": "idle",
                "params": {},
                "status": "ok",
                "metrics": {"watts": 70.0},
            },
        ]
    }
    assert fleet.figures_from_run(doc) == {
        "gemm/gemm_bf16[m=1]:tflops": 700.0,
        "memory/copy[bytes=8]:gbps": 3000.0,
        "links/h2d[]:gbps": 50.0,
    }


def test_link_figures_per_rank() -> None:
    doc = {
        "results": [{
            "suite": "collectives",
            "name": "sendrecv",
            "status": "ok",
            "params": {"bytes": 1024, "nranks": 2, "op": None},
            "metrics": {"busbw_gbps": 1.0},
            "ranks": {"busbw_gbps": [1.0, 0.5]},
        }]
    }
    assert fleet.link_figures(doc) == {0: {"collectives/sendrecv[bytes=1024]:rank_busbw_gbps": 1.0},
                                       1: {"collectives/sendrecv[bytes=1024]:rank_busbw_gbps": 0.5}}
