"""pytest-benchmark and Bencher shapes of a Run."""

from __future__ import annotations

import numpy as np
import pytest

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
