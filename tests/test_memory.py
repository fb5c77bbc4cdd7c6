"""STREAM byte counts, GB/s arithmetic, size parsing, and every kernel measured on the CPU."""

from __future__ import annotations

import pytest

from exabench.bench import memory
from exabench.bench.device import Device
from exabench.bench.harness import TimingConfig, measure
from exabench.errors import UserError

QUICK = TimingConfig(warmup_ms=1, rep_ms=5, min_samples=3, max_samples=20, flush="none")


class FakeH100(Device):
    """A device that reports the H100 SXM's name, for the peak lookup (never runs anything)."""

    def __init__(self) -> None:
        super().__init__("cuda", 0)

    def name(self) -> str:
        return "NVIDIA H100 80GB HBM3"


# BabelStream src/benchmark.h weights: Copy 2, Mul 2, Add 3, Triad 3, Dot 2; fill writes one.
@pytest.mark.parametrize(("kernel", "arrays"), [
    ("copy", 2), ("scale", 2), ("add", 3), ("triad", 3), ("dot", 2), ("fill", 1)])
def test_bytes_moved_per_kernel(kernel, arrays) -> None:
    assert memory.KERNELS[kernel].arrays_moved == arrays
    assert memory.bytes_moved(kernel, 1 << 30) == arrays * (1 << 30)


def test_gbps_is_decimal() -> None:
    # Copy of two 1 GiB arrays in 1 ms: 2 * 1073741824 B / 1e-3 s = 2147.48 GB/s.
    assert memory.gbps(memory.bytes_moved("copy", 1 << 30), 1e-3) == pytest.approx(2147.483648)
    assert memory.gbps(1e9, 1.0) == 1.0


def test_pct_of_peak_against_the_h100_datasheet() -> None:
    case = memory.StreamCase("triad", 1 << 30)
    m = case.metrics(1e-3, FakeH100())
    assert m["gbps"] == pytest.approx(3 * 1.073741824e9 / 1e-3 / 1e9)
    assert m["peak_gbps"] == 3350.0
    assert m["pct_of_peak"] == pytest.approx(100 * m["gbps"] / 3350.0)
    assert m["peak_source"] == "workloads/hardware/h100-sxm.toml"
    assert m["bytes_moved"] == 3 * (1 << 30)


def test_no_peak_on_the_cpu() -> None:
    m = memory.StreamCase("copy", 1 << 20).metrics(1e-4, Device("cpu"))
    assert m["pct_of_peak"] is None and m["peak_gbps"] is None and m["gbps"] > 0


@pytest.mark.parametrize(("text", "expected"), [
    ("1M", [1 << 20]), ("64KiB,2g", [64 << 10, 2 << 30]), ("1GB", [10**9]), ("4096", [4096]), ("1.5M", [3 << 19]),
])
def test_parse_bytes(text, expected) -> None:
    assert memory.parse_bytes(text) == expected


@pytest.mark.parametrize("text", ["0", "abc", "8", "1T", "-1M", ""])
def test_parse_bytes_rejects(text) -> None:
    with pytest.raises(UserError, match="is not valid"):
        memory.parse_bytes(text)


def test_arrays_hold_whole_16_byte_vectors() -> None:
    assert memory.elements_for(1000, 4) == 62 * 4
    assert memory.elements_for(1 << 20, 8) == (1 << 20) // 8
    case = memory.StreamCase("copy", 1000)
    assert case.params["bytes"] == 992 and case.array_bytes % 16 == 0


@pytest.mark.parametrize("kernel", list(memory.KERNELS))
@pytest.mark.parametrize("dtype", ["fp32", "fp64"])
def test_every_kernel_checks_and_measures_on_cpu(kernel, dtype) -> None:
    result = measure(memory.StreamCase(kernel, 256 << 10, dtype), Device("cpu"), QUICK)
    assert result["status"] == "ok", result["error"]
    assert result["check"]["ok"]
    assert result["metrics"]["gbps"] > 0
    assert result["params"] == {"kernel": kernel, "bytes": 256 << 10, "dtype": dtype, "backend": "torch"}


def test_a_wrong_kernel_is_failed_and_not_timed(monkeypatch) -> None:
    case = memory.StreamCase("triad", 64 << 10)
    real_call = case.call

    def broken(slot: int) -> None:
        real_call(slot)
        case._sets[slot]["a"][7] += 1.0  # one wrong element

    monkeypatch.setattr(case, "call", broken)
    result = measure(case, Device("cpu"), QUICK)
    assert result["status"] == "failed" and result["error"].startswith("wrong result")
    assert result["samples"] == []


def test_a_size_beyond_memory_is_failed(monkeypatch) -> None:
    monkeypatch.setattr(Device, "free_bytes", lambda self: 1 << 20)
    result = measure(memory.StreamCase("copy", 64 << 20), Device("cpu"), QUICK)
    assert result["status"] == "failed" and result["error"].startswith("out of memory")


def test_bytes_needed_counts_every_array() -> None:
    case = memory.StreamCase("add", 1 << 20)
    assert case.bytes_per_slot() == 3 * (1 << 20)
    assert case.bytes_needed() >= 3 * (1 << 20)


def test_cupy_backend_skips_on_cpu() -> None:
    result = measure(memory.StreamCase("copy", 1 << 20, backend="cupy"), Device("cpu"), QUICK)
    assert result["status"] == "skipped" and "CUDA GPU" in result["error"]


@pytest.mark.gpu
@pytest.mark.parametrize("backend", ["torch", "cupy"])
def test_gpu_kernels_check_and_reach_a_fraction_of_peak(backend) -> None:
    if backend == "cupy":
        pytest.importorskip("cupy")
    config = TimingConfig(warmup_ms=5, rep_ms=20, flush="none")
    for kernel in memory.KERNELS:
        result = measure(memory.StreamCase(kernel, 256 << 20, backend=backend), Device("cuda", 0), config)
        assert result["status"] == "ok", (kernel, result["error"])
        assert result["metrics"]["gbps"] > 100
