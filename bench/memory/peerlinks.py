"""Peer links: device→device copies between GPUs (NVLink, or PCIe peer-to-peer), one
direction over every ordered pair and both directions at once over every unordered pair, so
the results form a matrix (nvbandwidth ``device_to_device_memcpy_write_ce`` and
``device_to_device_bidirectional_memcpy_ce``, NVIDIA/nvbandwidth@66746a3 ``testcases_ce.cpp``;
cuda-samples' p2pBandwidthLatencyTest).

Bytes are counted once per direction (nvbandwidth): ``gbps`` is bytes copied over the median
time, summed over both directions for "both"; ``gbps_per_direction`` is per direction.
``pct_of_peak`` compares with the datasheet NVLink bandwidth per direction (×2 for "both")
when the pair has peer access; without it the copy is staged through the host and no peak
applies. torch issues a cross-device copy on the source GPU's current stream.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations, permutations
from typing import Any

from exabench.bench.device import Device
from exabench.bench.harness import Check
from exabench.bench.memory.hostlinks import fork_join
from exabench.bench.memory.stream import gbps, hardware_profile, peak_metrics

DIRECTIONS = ("d2d", "both")
MIB, GIB = 1 << 20, 1 << 30
FULL_SIZES = (1 * MIB, 16 * MIB, 256 * MIB, 1 * GIB)
QUICK_SIZES = (256 * MIB,)


def gpu_count() -> int:
    try:
        import torch
    except ImportError:
        return 0
    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def pairs(count: int, direction: str) -> list[tuple[int, int]]:
    """Ordered pairs for one direction (the full matrix), unordered pairs for both at once."""
    if direction == "d2d":
        return list(permutations(range(count), 2))
    return list(combinations(range(count), 2))


class PeerCopyCase:
    """Copy ``bytes`` from GPU ``src`` to GPU ``dst`` (and back at the same time for "both")."""

    suite = "memory"
    unit = "s"
    graphable = False
    """Copies of hundreds of µs or more are not launch-bound, and a copy to another GPU waits on
    that device's stream, which a capture cannot hold: timed call by call under --cuda-graph."""

    def __init__(self, src: int, dst: int, direction: str, nbytes: int, seed: int = 0) -> None:
        assert direction in DIRECTIONS and src != dst
        self.src, self.dst, self.direction, self.nbytes, self.seed = (
            src,
            dst,
            direction,
            nbytes,
            seed,
        )
        self.name = f"p2p_{direction}_{src}_{dst}"
        self.params = {
            "kernel": "peer_copy",
            "bytes": nbytes,
            "direction": direction,
            "src": src,
            "dst": dst,
        }
        self._ways: list[tuple[Any, Any, Any]] = []
        self._peer = False

    def skip_reason(self, device: Device) -> str | None:
        if not device.is_cuda:
            return "peer copies need CUDA GPUs; this run is on the CPU"
        if max(self.src, self.dst) >= gpu_count():
            return f"GPU {max(self.src, self.dst)} is not visible ({gpu_count()} GPUs)"
        return None

    def _legs(self) -> list[tuple[int, int]]:
        legs = [(self.src, self.dst)]
        return legs + [(self.dst, self.src)] if self.direction == "both" else legs

    def bytes_per_slot(self) -> int:
        # Per GPU: a source buffer and a destination buffer for each leg touching it.
        return 2 * self.nbytes if self.direction == "both" else self.nbytes

    def bytes_needed(self) -> int:
        return self.bytes_per_slot()

    def setup(self, device: Device, slots: int) -> None:
        import torch

        for gpu in (self.src, self.dst):
            free, _ = torch.cuda.mem_get_info(gpu)
            if self.bytes_per_slot() > 0.9 * free:
                raise MemoryError(
                    f"needs {self.bytes_per_slot() / 1e9:.2f} GB on GPU {gpu}, {free / 1e9:.2f} GB"
                    " free"
                )
        self._peer = torch.cuda.can_device_access_peer(self.src, self.dst)
        for a, b in self._legs():
            gen = torch.Generator(device=f"cuda:{a}").manual_seed(self.seed + a)
            source = torch.randint(
                1, 255, (self.nbytes,), generator=gen, dtype=torch.uint8, device=f"cuda:{a}"
            )
            target = torch.zeros(self.nbytes, dtype=torch.uint8, device=f"cuda:{b}")
            self._ways.append((torch.cuda.Stream(a), source, target))

    def call(self, slot: int) -> None:
        fork_join([
            (stream, lambda s=src, t=dst: t.copy_(s, non_blocking=True))
            for stream, src, dst in self._ways
        ])

    def check(self) -> Check:
        import torch

        self.call(0)
        for gpu in (self.src, self.dst):
            torch.cuda.synchronize(gpu)
        wrong = sum(int((t.to(s.device) != s).sum().item()) for _, s, t in self._ways)
        total = self.nbytes * len(self._ways)
        return Check(
            ok=wrong == 0, rel_error=wrong / total, tolerance=0.0, detail=f"({wrong} wrong bytes)"
        )

    def metrics(self, seconds: float, device: Device) -> dict[str, Any]:
        moved = self.nbytes * len(self._legs())
        profile = hardware_profile(device)
        per_dir = profile.nvlink_gbps_per_direction if profile and self._peer else None
        peak = per_dir * len(self._legs()) if per_dir else None
        achieved = gbps(moved, seconds)
        return {
            **peak_metrics(achieved, peak, profile),
            "gbps_per_direction": achieved / len(self._legs()),
            "bytes_moved": moved,
            "peer_access": self._peer,
        }

    def teardown(self) -> None:
        self._ways = []


def peer_cases(
    directions: Sequence[str], sizes: Sequence[int], count: int | None = None
) -> list[PeerCopyCase]:
    """The pair matrix for each direction and size; empty with fewer than two GPUs."""
    count = gpu_count() if count is None else count
    return [PeerCopyCase(a, b, d, s) for d in DIRECTIONS if d in directions
            for s in sizes for a, b in pairs(count, d)]
