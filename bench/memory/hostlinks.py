"""Host links: host→device and device→host copies over PCIe (or NVLink-C2C), pinned and
pageable, one direction or both at once (nvbandwidth ``host_to_device_memcpy_ce``,
``device_to_host_memcpy_ce`` and ``*_bidirectional_*``; NVIDIA/nvbandwidth@66746a3
``testcases_ce.cpp``).

Bytes are counted as nvbandwidth counts them: bytes *copied*, once. One direction moves
``bytes`` per call; "both" moves ``bytes`` each way at once on two streams, and ``gbps`` is
the total over both directions (``gbps_per_direction`` is half of it). ``pct_of_peak`` is
against the datasheet PCIe bandwidth per direction (twice it for "both").

Pinned (page-locked) host memory is copied by the DMA engines directly; pageable memory is
staged by the driver through a pinned bounce buffer, so it is slower and the host thread
takes part, which is why both are measured.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from exabench.bench.device import Device, _cpu_available_bytes
from exabench.bench.harness import Check
from exabench.bench.memory.stream import gbps, hardware_profile, peak_metrics

DIRECTIONS = ("h2d", "d2h", "both")
HOST_MEMORY = ("pinned", "pageable")
KIB, MIB, GIB = 1 << 10, 1 << 20, 1 << 30
FULL_SIZES = (64 * KIB, 1 * MIB, 16 * MIB, 256 * MIB, 1 * GIB)
QUICK_SIZES = (256 * MIB,)


def fork_join(works: Sequence[tuple[Any, Callable[[], None]]]) -> None:
    """Run each ``(stream, fn)`` on its stream, all after what is queued on the current stream
    and before anything queued on it next: the harness's CUDA events, recorded on the current
    stream, then bracket every stream's work (cross-device event waits included)."""
    import torch

    current = torch.cuda.current_stream()
    start = torch.cuda.Event()
    start.record(current)
    done = []
    for stream, fn in works:
        stream.wait_event(start)
        with torch.cuda.stream(stream):
            fn()
        event = torch.cuda.Event()
        event.record(stream)
        done.append(event)
    for event in done:
        current.wait_event(event)


class HostCopyCase:
    """One (direction, host memory kind, size) point of the host-link sweep."""

    suite = "memory"
    unit = "s"
    graphable = False
    """Copies of hundreds of µs or more are not launch-bound, and CUDA cannot capture a copy
    from pageable host memory: timed call by call under --cuda-graph."""

    def __init__(self, direction: str, memory: str, nbytes: int, seed: int = 0) -> None:
        assert direction in DIRECTIONS and memory in HOST_MEMORY
        self.direction, self.memory, self.nbytes, self.seed = direction, memory, nbytes, seed
        self.name = f"{direction}_{memory}"
        self.params = {
            "kernel": "host_copy",
            "bytes": nbytes,
            "direction": direction,
            "memory": memory,
        }
        self._host: dict[str, Any] = {}
        self._dev: dict[str, Any] = {}
        self._streams: list[Any] = []

    def skip_reason(self, device: Device) -> str | None:
        if not device.is_cuda:
            return "host<->device copies need a CUDA GPU; this run is on the CPU"
        return None

    def _ways(self) -> tuple[str, ...]:
        return ("h2d", "d2h") if self.direction == "both" else (self.direction,)

    def bytes_per_slot(self) -> int:
        return len(self._ways()) * self.nbytes

    def bytes_needed(self) -> int:
        return self.bytes_per_slot()

    def setup(self, device: Device, slots: int) -> None:
        import torch

        host_free = _cpu_available_bytes()
        host_bytes = 2 * len(self._ways()) * self.nbytes  # host buffers + the check's copy
        if host_free is not None and host_bytes > 0.5 * host_free:
            raise MemoryError(
                f"needs {host_bytes / 1e9:.2f} GB of host memory, {host_free / 1e9:.2f} GB is"
                " available"
            )
        gen = torch.Generator().manual_seed(self.seed)
        pin = self.memory == "pinned"
        for way in self._ways():
            host = torch.randint(1, 255, (self.nbytes,), generator=gen, dtype=torch.uint8)
            self._host[way] = host.pin_memory() if pin else host
            self._dev[way] = torch.randint(
                1, 255, (self.nbytes,), dtype=torch.uint8, device=device.torch_device
            )
        self._streams = [torch.cuda.Stream(device.index) for _ in self._ways()]
        self._index = device.index

    def _copy(self, way: str) -> None:
        # non_blocking is asynchronous only from pinned memory; pageable copies are staged.
        if way == "h2d":
            self._dev["h2d"].copy_(self._host["h2d"], non_blocking=True)
        else:
            self._host["d2h"].copy_(self._dev["d2h"], non_blocking=True)

    def call(self, slot: int) -> None:
        if self.direction != "both":
            self._copy(self.direction)
            return
        fork_join([
            (s, lambda w=w: self._copy(w)) for s, w in zip(self._streams, self._ways(), strict=True)
        ])

    def check(self) -> Check:
        import torch

        expected = {
            way: self._host["h2d"].clone() if way == "h2d" else self._dev["d2h"].cpu()
            for way in self._ways()
        }
        self.call(0)
        torch.cuda.synchronize(self._index)
        wrong = 0
        for way in self._ways():
            got = self._dev["h2d"].cpu() if way == "h2d" else self._host["d2h"]
            wrong += int((got != expected[way]).sum().item())
        total = len(self._ways()) * self.nbytes
        return Check(
            ok=wrong == 0, rel_error=wrong / total, tolerance=0.0, detail=f"({wrong} wrong bytes)"
        )

    def metrics(self, seconds: float, device: Device) -> dict[str, Any]:
        moved = len(self._ways()) * self.nbytes
        profile = hardware_profile(device)
        per_dir = profile.pcie_gbps_per_direction if profile else None
        peak = per_dir * len(self._ways()) if per_dir else None
        achieved = gbps(moved, seconds)
        return {
            **peak_metrics(achieved, peak, profile),
            "gbps_per_direction": achieved / len(self._ways()),
            "bytes_moved": moved,
        }

    def teardown(self) -> None:
        self._host, self._dev, self._streams = {}, {}, []


def host_cases(directions: Sequence[str], sizes: Sequence[int]) -> list[HostCopyCase]:
    return [
        HostCopyCase(d, m, s)
        for d in directions
        if d in DIRECTIONS
        for m in HOST_MEMORY
        for s in sizes
    ]
