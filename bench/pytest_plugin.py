"""pytest-benchmark integration: exabench cases timed by the exabench harness, under pytest.

pytest-benchmark times a Python callable with ``time.perf_counter``; on a GPU that measures the
launch, not the kernel, unless every call synchronises, and a synchronise per call distorts
what it measures (pytorch PR #75393). The ``gpu_benchmark`` fixture instead runs a
:class:`~exabench.bench.harness.Case` through :func:`~exabench.bench.harness.measure`
(correctness check first, warm-up, CUDA events per call, L2 flush between calls) and feeds
those samples into pytest-benchmark's statistics, so ``pytest --benchmark-json`` carries the
GPU-correct times, with the harness's metrics in ``extra_info`` and the GPU, driver, CUDA,
NCCL and fingerprint in ``machine_info["exabench"]``.

Enable it per project (it is not auto-loaded, so it can never disturb unrelated test runs)::

    # conftest.py
    pytest_plugins = ["exabench.bench.pytest_plugin"]
    # or: pytest -p exabench.bench.pytest_plugin --benchmark-json out.json

    def test_gemm_bf16(gpu_benchmark):
        from exabench.bench.gemm.cases import GemmCase
        result = gpu_benchmark(GemmCase(4096, 4096, 4096, "bf16"))
        assert result["metrics"]["tflops"] > 100

This module imports only pytest at its top; torch, NVML and pytest-benchmark are touched only
when a test asks for the fixture or pytest-benchmark asks for machine info.
"""

from __future__ import annotations

from typing import Any

import pytest


class GpuBenchmark:
    """Callable handed to a test: ``gpu_benchmark(case, device=None, ...)`` -> the result dict."""

    def __init__(self, benchmark: Any) -> None:
        self.benchmark = benchmark

    def __call__(
        self,
        case: Any,
        *,
        device: str | None = None,
        quick: bool = True,
        warmup_ms: float | None = None,
        rep_ms: float | None = None,
        flush: str | None = None,
        cuda_graph: bool = False,
    ) -> dict[str, Any]:
        # numpy and the harness load when a test first times a case, never with the plugin.
        from exabench.bench.runner import time_case

        result, resolved, config = time_case(case, once=self.benchmark.disabled, device=device,
                                             quick=quick, warmup_ms=warmup_ms, rep_ms=rep_ms,
                                             flush=flush, cuda_graph=cuda_graph)
        if result["status"] == "skipped":
            pytest.skip(result.get("error") or "skipped by the harness")
        if result["status"] != "ok":
            self.benchmark.has_error = True
            pytest.fail(f"{case.suite}/{case.name}: {result.get('error')}", pytrace=False)
        self._record(result, resolved, config)
        return result

    def _record(self, result: dict[str, Any], device: Any, config: Any) -> None:
        bench = self.benchmark
        bench._mode = "exabench gpu_benchmark(...)"  # tells pytest-benchmark the fixture was used
        bench.extra_info.update({
            "exabench": {
                "suite": result["suite"],
                "name": result["name"],
                "params": result["params"],
                "unit": result["unit"],
                "metrics": result["metrics"],
                "stats": result["stats"],
                "check": result.get("check"),
                "timing": result.get("timing"),
                "telemetry": result.get("telemetry"),
                "device": f"{device.kind}:{device.index}",
            },
        })
        if bench.disabled:
            return
        # pytest-benchmark 3.1 .. 5.x: _make_stats(iterations) registers a Metadata whose
        # update() appends one round; each harness sample is one round of one iteration.
        stats = bench._make_stats(1)
        stats.options.update({
            "timer": "cuda_event" if device.is_cuda else "perf_counter_ns+synchronize",
            "flush": config.flush,
            "warmup_ms": config.warmup_ms,
            "rep_ms": config.rep_ms,
            "cuda_graph": config.cuda_graph,
            "min_rounds": config.min_samples,
        })
        for sample in result["samples"]:
            stats.update(sample)


@pytest.fixture
def gpu_benchmark(request: pytest.FixtureRequest) -> GpuBenchmark:
    """Time an exabench Case with the harness and report it through pytest-benchmark."""
    try:
        benchmark = request.getfixturevalue("benchmark")
    except pytest.FixtureLookupError:
        pytest.fail(
            "gpu_benchmark needs pytest-benchmark (pip install pytest-benchmark)", pytrace=False
        )
    if not hasattr(benchmark, "_make_stats"):
        pytest.fail("gpu_benchmark needs pytest-benchmark 3.1 or newer", pytrace=False)
    return GpuBenchmark(benchmark)


@pytest.hookimpl(optionalhook=True)
def pytest_benchmark_update_machine_info(
    config: pytest.Config, machine_info: dict[str, Any]
) -> None:
    """Add the GPU, driver, CUDA, NCCL and fingerprint (pytest-benchmark records only the CPU)."""
    try:
        from exabench.bench.env import capture  # numpy, NVML: only when pytest-benchmark asks
        from exabench.documents.run import exabench_machine_info

        machine_info["exabench"] = exabench_machine_info(capture())
    except Exception as error:  # noqa: BLE001 - machine info must never break a benchmark run
        machine_info["exabench"] = {"error": f"{type(error).__name__}: {error}"}
