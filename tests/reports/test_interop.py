"""pytest-benchmark and Bencher shapes of a Run."""

from __future__ import annotations

import numpy as np
import pytest

from exabench.documents.run import make_result
from exabench.reports.interop import pytest_benchmark_stats, to_bmf, to_pytest_benchmark
from exabench.testing.synthetic_runs import gemm_result, noisy, run_doc


@pytest.mark.parametrize("n", [1, 2, 5, 6, 7, 8, 9, 10, 13, 40])
def test_stats_match_pytest_benchmark_itself(n: int) -> None:
    from pytest_benchmark.stats import Stats

    samples = list(np.random.default_rng(n).lognormal(-7, 0.3, n))
    reference = Stats()
    for s in samples:
        reference.update(s)
    ours = pytest_benchmark_stats(samples)
    for field in Stats.fields:
        assert ours[field] == pytest.approx(getattr(reference, field)), field
    assert ours["data"] == samples and ours["iterations"] == 1


def _run() -> dict:
    rng = np.random.default_rng(0)
    return run_doc(
        "r1",
        [gemm_result(512, noisy(rng, 1e-3, 0.01, 12)), gemm_result(1024, [], status="skipped")],
        commit="a" * 40,
    )


def test_pytest_benchmark_document_shape() -> None:
    doc = to_pytest_benchmark(_run())
    assert set(doc) >= {"machine_info", "commit_info", "benchmarks", "datetime", "version"}
    assert doc["commit_info"]["id"] == "a" * 40
    assert doc["machine_info"]["exabench"]["fingerprint"] == "fp-h100"
    assert doc["machine_info"]["exabench"]["gpus"][0]["name"].startswith("NVIDIA H100")
    (bench,) = doc["benchmarks"]  # the skipped result is left out
    assert bench["group"] == "gemm" and bench["fullname"].endswith(bench["name"])
    assert bench["params"]["m"] == 512 and bench["options"]["timer"] == "cuda_event"
    assert set(bench) >= {
        "group",
        "name",
        "fullname",
        "params",
        "param",
        "extra_info",
        "options",
        "stats",
    }
    assert len(bench["stats"]["data"]) == 12 and bench["extra_info"]["metrics"]["tflops"] > 0


def test_bencher_metric_format() -> None:
    doc = to_bmf(_run())
    ((name, measures),) = doc.items()
    assert name == "gemm/gemm_bf16[m=512-n=512-k=512-dtype=bf16-backend=torch]"
    latency = measures["latency"]
    assert latency["lower_value"] <= latency["value"] <= latency["upper_value"]
    assert latency["value"] == pytest.approx(1e6, rel=0.05)  # 1 ms in nanoseconds
    assert measures["tflops"]["value"] > 0


def test_bencher_throughput_measures_carry_bounds_from_the_time_quartiles() -> None:
    """Issue 19 defect 6: a throughput measure had a value and no bounds. Work / time, so the
    slow quartile bounds it below and the fast one above: lower = work / q3, upper = work / q1.

    Samples 1..5 ms: q1 2 ms, median 3 ms, q3 4 ms (linear quartiles). GEMM 512^3: 2·512^3 =
    268,435,456 flop, so 0.0671 (at 4 ms) / 0.0895 (at 3 ms) / 0.1342 (at 2 ms) TFLOP/s.
    all_reduce of 1 GB over 8 ranks, samples 10..50 ms: algbw 1 GB / 40, 30, 20 ms = 25, 33.3,
    50 GB/s; busbw 2·7/8 = 1.75 times that: 43.75, 58.3, 87.5 GB/s.
    """
    gemm = gemm_result(512, [3e-3, 1e-3, 5e-3, 2e-3, 4e-3])
    coll = make_result(
        suite="collectives", name="all_reduce", params={"bytes": 10**9, "nranks": 8},
        samples=[0.05, 0.01, 0.03, 0.02, 0.04],
        metrics={"algbw_gbps": 1e9 / 0.03 / 1e9, "busbw_gbps": 1.75 * 1e9 / 0.03 / 1e9,
                 "busbw_factor": 1.75, "wrong": 0},
    )
    doc = to_bmf(run_doc("r1", [gemm, coll]))
    tflops = doc["gemm/gemm_bf16[m=512-n=512-k=512-dtype=bf16-backend=torch]"]["tflops"]
    assert tflops["value"] == pytest.approx(268_435_456 / 3e-3 / 1e12, rel=1e-12)
    assert tflops["lower_value"] == pytest.approx(0.067108864, rel=1e-12)
    assert tflops["upper_value"] == pytest.approx(0.134217728, rel=1e-12)
    measures = doc["collectives/all_reduce[bytes=1000000000-nranks=8]"]
    assert measures["algbw_gbps"] == pytest.approx(
        {"value": 100 / 3, "lower_value": 25.0, "upper_value": 50.0}, rel=1e-12
    )
    assert measures["busbw_gbps"] == pytest.approx(
        {"value": 175 / 3, "lower_value": 43.75, "upper_value": 87.5}, rel=1e-12
    )
    latency = measures["latency"]  # the time bounds stay as they were: q1 and q3, in ns
    assert (latency["lower_value"], latency["value"], latency["upper_value"]) == pytest.approx(
        (2e7, 3e7, 4e7), rel=1e-12
    )
    assert set(measures) == {"latency", "algbw_gbps", "busbw_gbps"}  # no bounds for "wrong"


def test_bencher_throughput_without_time_quartiles_has_no_bounds() -> None:
    """One sample (q1 = q3 = median) gives bounds equal to the value; a non-time unit gives
    none, since its samples are not the time the throughput divides by."""
    one = to_bmf(run_doc("r1", [gemm_result(256, [1e-3])]))
    (measures,) = one.values()
    assert measures["tflops"]["lower_value"] == measures["tflops"]["value"]
    assert measures["tflops"]["upper_value"] == measures["tflops"]["value"]
    power = make_result(suite="power", name="gemm_power", params={}, unit="W",
                        samples=[300.0, 310.0, 320.0], metrics={"tflops": 500.0})
    (measures,) = to_bmf(run_doc("r2", [power])).values()
    assert measures == {"tflops": {"value": 500.0}}
