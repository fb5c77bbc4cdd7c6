r"""exabench GEMM microbenchmarks under pytest-benchmark, with the harness's GPU timing.

Run (a GPU is used when there is one, else the CPU)::

    pytest examples/pytest_benchmark_gemm.py -p exabench.bench.pytest_plugin \
        --benchmark-json gemm.json

Each test times one GEMM with CUDA events per call and an L2 flush between calls (see
``bench/pytest_plugin.py``); ``gemm.json`` is ordinary pytest-benchmark output, with the
TFLOP/s in each benchmark's ``extra_info`` and the GPU in ``machine_info["exabench"]``.
"""

from __future__ import annotations

import pytest


def _has_cuda() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


SIZES = (4096, 8192) if _has_cuda() else (256, 512)
DTYPES = ("bf16", "fp8") if _has_cuda() else ("fp32",)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", SIZES)
def test_gemm(gpu_benchmark, size: int, dtype: str) -> None:
    from exabench.bench.gemm.cases import GemmCase

    result = gpu_benchmark(GemmCase(size, size, size, dtype))
    assert result["metrics"]["tflops"] > 0
