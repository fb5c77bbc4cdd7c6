"""The raw cupy STREAM kernels: generated source (everywhere) and results (on a GPU with cupy)."""

from __future__ import annotations

import re

import pytest

from exabench.bench.memory import kernels as sk


@pytest.mark.parametrize("dtype", ["fp32", "fp64"])
def test_elementwise_sources_use_16_byte_vectors(dtype) -> None:
    vec = "float4" if dtype == "fp32" else "double2"
    for kernel in ("copy", "scale", "add", "triad", "fill"):
        src = sk.elementwise_source(kernel, dtype)
        assert f"typedef {vec} V;" in src and f"stream_{kernel}(" in src
        assert (
            "blockIdx.x * blockDim.x + threadIdx.x" in src
        )  # consecutive threads, consecutive vectors
    triad = sk.elementwise_source("triad", "fp32")
    assert (
        "a[i] = make_float4(b[i].x + s * c[i].x, b[i].y + s * c[i].y, b[i].z + s * c[i].z, b[i].w +"
        " s * c[i].w);"
        in triad
    )
    assert "c[i] = a[i];" in sk.elementwise_source("copy", dtype)


def test_dot_source_reduces_every_lane() -> None:
    src = sk.dot_source("fp64")
    assert "x.x * y.x + x.y * y.y" in src and f"tile[{sk.DOT_THREADS}]" in src


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", ["fp32", "fp64"])
def test_cupy_kernels_pass_the_check(dtype) -> None:
    pytest.importorskip("cupy")
    from exabench.bench.device import Device
    from exabench.bench.memory.stream import KERNELS, StreamCase

    for kernel in KERNELS:
        case = StreamCase(kernel, (16 << 20) + 48, dtype, backend="cupy")
        case.setup(Device("cuda", 0), 1)
        try:
            assert case.check().ok, kernel
        finally:
            case.teardown()


@pytest.mark.gpu
@pytest.mark.parametrize("backend", ["torch", "cupy"])
def test_stream_kernels_replay_from_a_cuda_graph_over_rotated_inputs(backend) -> None:
    """--cuda-graph --flush rotate: a 1 MiB triad rotates over dozens of input slots, each first
    called (a cupy view made through __dlpack__) before the capture, on the capture stream."""
    if backend == "cupy":
        pytest.importorskip("cupy")
    import torch

    from exabench.bench.device import Device
    from exabench.bench.harness import TimingConfig, measure
    from exabench.bench.memory.stream import StreamCase

    torch.cuda.set_device(0)
    config = TimingConfig(warmup_ms=5, rep_ms=20, flush="rotate", cuda_graph=True)
    for kernel in ("triad", "dot"):
        result = measure(StreamCase(kernel, 1 << 20, "fp32", backend), Device("cuda", 0), config)
        assert result["status"] == "ok", result.get("error")
        assert result["timing"]["cuda_graph"] and result["timing"]["slots"] > 3


WIDE = re.compile(r"\.v(4\.[bfsu]32|2\.[bfsu]64) ")  # one 16-byte access per instruction


def _all_sources() -> dict[str, str]:
    sources = {}
    for dtype in sk.VECTORS:
        for kernel in ("copy", "scale", "add", "triad", "fill"):
            sources[f"{kernel}_{dtype}"] = sk.elementwise_source(kernel, dtype)
        sources[f"dot_{dtype}"] = sk.dot_source(dtype)
    return sources


def test_every_kernel_compiles_for_hopper_with_16_byte_accesses(tmp_path) -> None:
    """cupy compiles these with NVRTC at the first launch on a GPU; nvcc (on the CI image, no
    GPU needed) compiles the same source to PTX for sm_90, where each vector load and store
    must be one 128-bit access (``.v4`` of 32-bit or ``.v2`` of 64-bit lanes)."""
    import shutil
    import subprocess

    nvcc = shutil.which("nvcc")
    if nvcc is None:
        pytest.skip("nvcc is not on PATH")
    for name, source in _all_sources().items():
        cu, ptx = tmp_path / f"{name}.cu", tmp_path / f"{name}.ptx"
        cu.write_text(source)
        done = subprocess.run([nvcc, "-arch=sm_90", "-ptx", "-o", str(ptx), str(cu)],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"{name}: {done.stderr}"
        text = ptx.read_text()
        loads = [line for line in text.splitlines() if "ld.global" in line]
        stores = [line for line in text.splitlines() if "st.global" in line]
        if not name.startswith("fill"):
            assert loads and all(WIDE.search(line) for line in loads), f"{name}: {loads}"
        if name.startswith("dot"):
            continue  # one scalar partial per block
        assert stores and all(WIDE.search(line) for line in stores), f"{name}: {stores}"
