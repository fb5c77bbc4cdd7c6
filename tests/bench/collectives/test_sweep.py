"""Case order, and the result rank 0 builds from every rank's samples."""

from __future__ import annotations

import pytest

from exabench.bench.collectives.sweep import SweepSpec, build_result, cases, is_fault, short_error


def test_cases_follow_nccl_tests_order() -> None:
    spec = SweepSpec(collectives=("all_gather", "all_reduce"), sizes=(1024, 4096))
    assert cases(spec, 4) == [
        ("fp32", "all_gather", 1024, 256, False), ("fp32", "all_gather", 1024, 256, True),
        ("fp32", "all_gather", 4096, 1024, False), ("fp32", "all_gather", 4096, 1024, True),
        ("fp32", "all_reduce", 1024, 256, True), ("fp32", "all_reduce", 4096, 1024, True),
    ]


def test_sizes_that_round_to_one_count_run_once() -> None:
    spec = SweepSpec(collectives=("reduce_scatter",), sizes=(1, 2, 4, 8))
    assert [c[3] for c in cases(spec, 4)] == [4, 4]  # one count, two passes


def _part(samples, wrong=0, error=None):
    return {"samples": samples, "wrong": wrong, "error": error, "fallback": False}


def test_result_keeps_every_rank_and_paces_by_the_slowest() -> None:
    spec = SweepSpec(collectives=("all_reduce",), sizes=(8,), iters=3)
    per_rank = [_part([1.0, 1.0, 1.0]), _part([2.0, 0.5, 2.0])]
    result = build_result(
        spec, "all_reduce", 2_000_000_000, 500_000_000, "fp32", True, per_rank, "gloo"
    )
    assert result["status"] == "ok"
    assert result["samples"] == [2.0, 1.0, 2.0]  # per iteration, the slowest rank
    assert result["stats"]["median"] == 2.0
    assert result["metrics"]["algbw_gbps"] == pytest.approx(1.0)
    assert result["metrics"]["busbw_gbps"] == pytest.approx(1.0)  # 2(n-1)/n = 1 at n = 2
    assert result["metrics"]["slowest_rank"] == 1 and result["metrics"]["wrong"] == 0
    assert result["ranks"]["samples"] == [[1.0, 1.0, 1.0], [2.0, 0.5, 2.0]]
    assert result["ranks"]["busbw_gbps"] == pytest.approx([2.0, 1.0])
    assert result["params"] == {
        "collective": "all_reduce",
        "bytes": 2_000_000_000,
        "count": 500_000_000,
        "nranks": 2,
        "dtype": "fp32",
        "inplace": True,
        "op": "sum",
        "root": None,
    }


def test_nccl_tests_own_measure_is_the_batch_time_averaged_over_ranks() -> None:
    """nccl-tests' time column: -n operations back to back per rank, divided by -n, averaged over
    ranks (-a 1); kept beside the per-operation medians (its -I 1 view), never instead of them."""
    spec = SweepSpec(collectives=("all_reduce",), sizes=(8,), iters=3)
    per_rank = [
        dict(_part([1.0, 1.0, 1.0]), batch_s=1.5),
        dict(_part([2.0, 0.5, 2.0]), batch_s=2.5),
    ]
    metrics = build_result(
        spec, "all_reduce", 2_000_000_000, 500_000_000, "fp32", True, per_rank, "gloo"
    )["metrics"]
    assert metrics["time_avg_s"] == pytest.approx(2.0)
    assert metrics["algbw_gbps_avg"] == pytest.approx(1.0) and metrics[
        "busbw_gbps_avg"
    ] == pytest.approx(1.0)
    assert metrics["busbw_gbps"] == pytest.approx(
        1.0
    )  # the median of the slowest rank's, as before
    without = build_result(
        spec, "all_reduce", 8, 2, "fp32", True, [_part([1.0]), _part([1.0])], "gloo"
    )["metrics"]
    assert "busbw_gbps_avg" not in without  # a rank that did not report a batch time: no average


def test_wrong_elements_fail_the_result_but_keep_the_timing() -> None:
    spec = SweepSpec(collectives=("broadcast",), sizes=(8,))
    result = build_result(
        spec, "broadcast", 8, 2, "fp32", True, [_part([1e-3]), _part([1e-3], wrong=2)], "gloo"
    )
    assert result["status"] == "failed" and result["error"].startswith("wrong result: 2 wrong")
    assert result["metrics"]["wrong"] == 2 and result["samples"] == [1e-3]
    assert result["params"]["root"] == 0 and result["params"]["op"] is None


def test_rank_errors_and_faults() -> None:
    spec = SweepSpec(collectives=("sendrecv",), sizes=(8,))
    parts = [_part([], error="RuntimeError: Connection reset by peer"), _part([1.0])]
    result = build_result(spec, "sendrecv", 8, 2, "fp32", False, parts, "gloo")
    assert result["status"] == "failed" and result["error"].startswith("rank 0: RuntimeError")
    assert is_fault(parts) and not is_fault([_part([], error="RuntimeError: dtype not supported")])


def test_short_error_drops_source_paths() -> None:
    error = RuntimeError(
        "[/x/gloo/pair.cc:537] Read error [127.0.0.1]:1: Connection reset by peer. "
        "This is typically caused by a remote worker hanging"
    )
    assert short_error(error) == "RuntimeError: Read error [127.0.0.1]:1: Connection reset by peer."


def test_the_avg_bus_bandwidth_footer_is_nccl_tests_own_measure() -> None:
    from exabench.bench.collectives.driver import avg_busbw_line

    def result(busbw, avg=None):
        metrics = {
            "busbw_gbps": busbw,
            "wrong": 0,
            **({"busbw_gbps_avg": avg} if avg is not None else {}),
        }
        return {
            "suite": "collectives",
            "status": "ok",
            "params": {"bytes": 1024},
            "metrics": metrics,
        }

    line = avg_busbw_line([result(10.0, 12.0), result(20.0, 16.0)])
    assert "14.000 GB/s (mean over 2 results of busbw_gbps_avg: batch time per operation" in line
    assert (
        "15.000 GB/s (mean over 2 results of busbw_gbps: per-operation medians" in avg_busbw_line(
            [result(10.0, 12.0), result(20.0)]
        )
    )  # an older Run without it: the table's figure
