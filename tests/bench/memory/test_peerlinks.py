"""Peer-link matrix: pairs, counting, and what happens with fewer than two GPUs."""

from __future__ import annotations

import pytest

from exabench.bench.device import Device
from exabench.bench.harness import TimingConfig, measure
from exabench.bench.memory import peerlinks
from exabench.bench.memory.peerlinks import PeerCopyCase, pairs, peer_cases


class FakeH100(Device):
    def __init__(self) -> None:
        super().__init__("cuda", 0)

    def name(self) -> str:
        return "NVIDIA H100 80GB HBM3"


def test_pairs_form_the_matrix() -> None:
    assert pairs(3, "d2d") == [(0, 1), (0, 2), (1, 0), (1, 2), (2, 0), (2, 1)]
    assert pairs(3, "both") == [(0, 1), (0, 2), (1, 2)]
    assert len(pairs(8, "d2d")) == 56 and len(pairs(8, "both")) == 28
    assert pairs(1, "d2d") == []


def test_peer_cases_over_directions_and_sizes() -> None:
    cases = peer_cases(["d2d", "both", "h2d"], [1 << 20, 1 << 30], count=4)
    assert len(cases) == 2 * 12 + 2 * 6
    assert peer_cases(["d2d"], [1], count=1) == []


def test_counting_and_nvlink_peak() -> None:
    one, both = PeerCopyCase(0, 1, "d2d", 1 << 30), PeerCopyCase(0, 1, "both", 1 << 30)
    one._peer = both._peer = True
    m1, m2 = one.metrics(1e-2, FakeH100()), both.metrics(1e-2, FakeH100())
    assert m1["gbps"] == pytest.approx(107.3741824) and m1["peak_gbps"] == 450.0
    assert m2["gbps"] == pytest.approx(2 * 107.3741824) and m2["peak_gbps"] == 900.0
    assert m2["gbps_per_direction"] == pytest.approx(107.3741824)
    one._peer = False  # staged through the host: no NVLink peak applies
    assert one.metrics(1e-2, FakeH100())["pct_of_peak"] is None
    assert one.params == {
        "kernel": "peer_copy",
        "bytes": 1 << 30,
        "direction": "d2d",
        "src": 0,
        "dst": 1,
    }


def test_skipped_without_gpus(monkeypatch) -> None:
    result = measure(PeerCopyCase(0, 1, "d2d", 1 << 20), Device("cpu"), TimingConfig())
    assert result["status"] == "skipped" and "CUDA" in result["error"]
    monkeypatch.setattr(peerlinks, "gpu_count", lambda: 1)
    assert "GPU 1 is not visible" in PeerCopyCase(0, 1, "d2d", 1).skip_reason(FakeH100())


@pytest.mark.gpu
def test_gpu_peer_copies_check_and_measure() -> None:
    if peerlinks.gpu_count() < 2:
        pytest.skip("needs two GPUs")
    for case in (PeerCopyCase(0, 1, "d2d", 64 << 20), PeerCopyCase(0, 1, "both", 64 << 20)):
        result = measure(
            case, Device("cuda", 0), TimingConfig(warmup_ms=5, rep_ms=20, flush="none")
        )
        assert result["status"] == "ok", result["error"]
