"""Host-link cases: what they count, their peaks, and their skip on a CPU."""

from __future__ import annotations

import pytest

from exabench.bench.device import Device
from exabench.bench.harness import TimingConfig, measure
from exabench.bench.memory.hostlinks import HostCopyCase, host_cases


class FakeH100(Device):
    def __init__(self) -> None:
        super().__init__("cuda", 0)

    def name(self) -> str:
        return "NVIDIA H100 80GB HBM3"


def test_one_direction_counts_bytes_once_against_pcie_per_direction() -> None:
    case = HostCopyCase("h2d", "pinned", 1 << 30)
    m = case.metrics(0.02, FakeH100())
    assert m["gbps"] == pytest.approx(1.073741824 / 0.02)  # 53.7 GB/s
    assert m["peak_gbps"] == 64.0 and m["pct_of_peak"] == pytest.approx(100 * m["gbps"] / 64.0)
    assert m["gbps_per_direction"] == m["gbps"] and m["bytes_moved"] == 1 << 30


def test_both_directions_sum_the_bytes_against_twice_the_peak() -> None:
    case = HostCopyCase("both", "pageable", 1 << 30)
    m = case.metrics(0.04, FakeH100())
    assert m["bytes_moved"] == 2 << 30
    assert m["gbps"] == pytest.approx(2 * 1.073741824 / 0.04)
    assert m["gbps_per_direction"] == pytest.approx(m["gbps"] / 2)
    assert m["peak_gbps"] == 128.0
    assert case.bytes_needed() == 2 << 30


def test_params_and_names() -> None:
    case = HostCopyCase("d2h", "pageable", 4096)
    assert case.name == "d2h_pageable"
    assert case.params == {
        "kernel": "host_copy",
        "bytes": 4096,
        "direction": "d2h",
        "memory": "pageable",
    }
    assert (
        len(host_cases(["h2d", "both", "d2d"], [1, 2])) == 2 * 2 * 2
    )  # d2d is not a host direction


def test_skipped_on_cpu_with_the_reason() -> None:
    result = measure(HostCopyCase("h2d", "pinned", 1 << 20), Device("cpu"), TimingConfig())
    assert result["status"] == "skipped" and "CUDA GPU" in result["error"]


@pytest.mark.gpu
@pytest.mark.parametrize("direction", ["h2d", "d2h", "both"])
@pytest.mark.parametrize("memory", ["pinned", "pageable"])
def test_gpu_host_copies_check_and_measure(direction, memory) -> None:
    result = measure(HostCopyCase(direction, memory, 64 << 20), Device("cuda", 0),
                     TimingConfig(warmup_ms=5, rep_ms=20, flush="none"))
    assert result["status"] == "ok", result["error"]
    assert result["metrics"]["gbps"] > 1
