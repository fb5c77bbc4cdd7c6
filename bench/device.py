"""Where a benchmark runs: CUDA through torch, or the CPU.

Owns what differs between the two for timing: how to synchronise, how large the last-level
cache is (for the flush buffer), how much memory is free (to refuse shapes that can't fit
before allocating them), and which precisions the hardware can run.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from exabench.bench.env import host_info
from exabench.errors import UserError

DEVICES = ("cuda", "cpu")


def _cpu_llc_bytes() -> int:
    """Largest cache size the kernel reports for CPU 0 (the last-level cache); 32 MiB if unknown."""
    sizes = []
    for index in Path("/sys/devices/system/cpu/cpu0/cache").glob("index*"):
        try:
            text = (index / "size").read_text().strip()
        except OSError:
            continue
        scale = {"K": 1024, "M": 1024**2, "G": 1024**3}.get(text[-1:], 1)
        digits = text.rstrip("KMG")
        if digits.isdigit():
            sizes.append(int(digits) * scale)
    return max(sizes) if sizes else 32 * 1024**2


def _cpu_available_bytes() -> int | None:
    try:
        with open("/proc/meminfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")
    except (ValueError, OSError):
        return None


@dataclass
class Device:
    """A resolved device: ``kind`` is ``cuda`` or ``cpu``; ``index`` the CUDA ordinal."""

    kind: str
    index: int = 0

    @property
    def torch_device(self) -> Any:
        import torch

        return torch.device(self.kind, self.index) if self.kind == "cuda" else torch.device("cpu")

    @property
    def is_cuda(self) -> bool:
        return self.kind == "cuda"

    def synchronize(self) -> None:
        if self.is_cuda:
            import torch

            torch.cuda.synchronize(self.index)

    def name(self) -> str:
        if self.is_cuda:
            import torch

            return torch.cuda.get_device_name(self.index)
        return host_info()["cpu_model"] or "cpu"

    def cache_bytes(self) -> int:
        """The L2 (GPU) or last-level cache (CPU) size that a flush buffer must exceed."""
        if self.is_cuda:
            import torch

            l2 = getattr(torch.cuda.get_device_properties(self.index), "L2_cache_size", 0)
            return int(l2) or 50 * 1024**2
        return _cpu_llc_bytes()

    def free_bytes(self) -> int | None:
        if self.is_cuda:
            import torch

            free, _total = torch.cuda.mem_get_info(self.index)
            return int(free)
        return _cpu_available_bytes()

    def compute_capability(self) -> tuple[int, int] | None:
        if not self.is_cuda:
            return None
        import torch

        return torch.cuda.get_device_capability(self.index)

    def check_fits(self, nbytes: int) -> None:
        """Raise MemoryError (recorded as a failed result) when ``nbytes`` can't fit: refusing
        beforehand avoids the kernel's OOM killer on an overcommitting host."""
        free = self.free_bytes()
        if free is not None and nbytes > 0.9 * free:
            raise MemoryError(
                f"needs {nbytes / 1e9:.2f} GB but only {free / 1e9:.2f} GB is free on {self.kind}"
            )


def resolve(requested: str | None) -> Device:
    """``cuda``, ``cuda:N``, ``cpu`` or None (a GPU when there is one, else the CPU)."""
    try:
        import torch
    except ImportError:
        raise UserError(
            "torch is not installed; install the benchmarks with: pip install 'exabench[bench]'"
        ) from None
    has_cuda = torch.cuda.is_available()
    if requested is None:
        return Device("cuda", 0) if has_cuda else Device("cpu")
    kind, _, ordinal = requested.partition(":")
    if kind not in DEVICES or (ordinal and not ordinal.isdigit()):
        raise UserError(f"device {requested!r} is not valid; valid: cuda, cuda:N, cpu")
    if kind == "cpu":
        return Device("cpu")
    if not has_cuda:
        raise UserError(
            "--device cuda was asked for but no CUDA GPU is visible (torch.cuda.is_available() is"
            " False); use --device cpu"
        )
    index = int(ordinal or 0)
    if index >= torch.cuda.device_count():
        raise UserError(
            f"--device {requested}: only {torch.cuda.device_count()} CUDA device(s) visible"
        )
    return Device("cuda", index)
