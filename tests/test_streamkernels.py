"""The raw cupy STREAM kernels: generated source (everywhere) and results (on a GPU with cupy)."""

from __future__ import annotations

import pytest

from exabench.bench import streamkernels as sk


@pytest.mark.parametrize("dtype", ["fp32", "fp64"])
def test_elementwise_sources_use_16_byte_vectors(dtype) -> None:
    vec = "float4" if dtype == "fp32" else "double2"
    for kernel in ("copy", "scale", "add", "triad", "fill"):
        src = sk.elementwise_source(kernel, dtype)
        assert f"typedef {vec} V;" in src and f"stream_{kernel}(" in src
        assert "blockIdx.x * blockDim.x + threadIdx.x" in src  # consecutive threads, consecutive vectors
    triad = sk.elementwise_source("triad", "fp32")
    assert "a[i] = make_float4(b[i].x + s * c[i].x, b[i].y + s * c[i].y, b[i].z + s * c[i].z, b[i].w + s * c[i].w);" in triad
    assert "c[i] = a[i];" in sk.elementwise_source("copy", dtype)


def test_dot_source_reduces_every_lane() -> None:
    src = sk.dot_source("fp64")
    assert "x.x * y.x + x.y * y.y" in src and f"tile[{sk.DOT_THREADS}]" in src


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", ["fp32", "fp64"])
def test_cupy_kernels_pass_the_check(dtype) -> None:
    pytest.importorskip("cupy")
    from exabench.bench.device import Device
    from exabench.bench.memory import KERNELS, StreamCase

    for kernel in KERNELS:
        case = StreamCase(kernel, (16 << 20) + 48, dtype, backend="cupy")
        case.setup(Device("cuda", 0), 1)
        try:
            assert case.check().ok, kernel
        finally:
            case.teardown()
