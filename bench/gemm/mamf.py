"""MAMF: the Maximum Achievable Matmul FLOP/s (after ml-engineering's ``mamf-finder.py``).

The datasheet peak is never reached; what a GEMM really sustains depends on the shape. This
search starts at a target shape and, within a time budget, walks the shape space: a coordinate
search over m, n and k in steps of the tile granularity (256 on a GPU: a multiple of every
cuBLAS tile edge; 64 on a CPU), keeping the best shape, then random probes near it with what
budget remains. The best shape is re-measured with the full protocol; every probed shape and
its TFLOP/s is kept in the result (``candidates``).
"""

from __future__ import annotations

import random
import time
from typing import Any

from exabench.bench.device import Device
from exabench.bench.gemm.cases import GemmCase
from exabench.bench.harness import TimingConfig, measure

Shape = tuple[int, int, int]


def _neighbours(shape: Shape, step: int, lo: int, hi: int) -> list[Shape]:
    out = []
    for axis in range(3):
        for delta in (-2 * step, -step, step, 2 * step):
            candidate = list(shape)
            candidate[axis] = min(hi, max(lo, candidate[axis] + delta))
            out.append(tuple(candidate))
    return [c for c in dict.fromkeys(out) if c != shape]


def mamf_search(device: Device, dtype: str, target: Shape, *, budget_s: float = 60.0,
                backend: str = "torch", seed: int = 0) -> dict[str, Any]:
    step = 256 if device.is_cuda else 64
    lo, hi = step, max(target) * 2
    probe = TimingConfig(
        warmup_ms=10,
        rep_ms=30 if device.is_cuda else 60,
        min_samples=5,
        max_samples=100,
        flush="l2" if device.is_cuda else "none",
    )
    rng = random.Random(seed)
    deadline = time.monotonic() + budget_s
    tried: dict[Shape, float | None] = {}

    def score(shape: Shape) -> float | None:
        if shape not in tried:
            result = measure(GemmCase(*shape, dtype, backend), device, probe)
            tried[shape] = result["metrics"].get("tflops") if result["status"] == "ok" else None
        return tried[shape]

    snapped = tuple(max(lo, round(d / step) * step) for d in target)
    best = snapped
    if score(best) is None:
        return _final(
            device,
            dtype,
            backend,
            snapped,
            tried,
            budget_s,
            error="target shape failed its check or run",
        )
    improved = True
    while improved and time.monotonic() < deadline:
        improved = False
        for candidate in _neighbours(best, step, lo, hi):
            if time.monotonic() >= deadline:
                break
            value = score(candidate)
            if value is not None and value > (tried[best] or 0):
                best, improved = candidate, True
    while time.monotonic() < deadline:  # random probes around the best with what remains
        candidate = tuple(min(hi, max(lo, d + rng.randint(-8, 8) * step)) for d in best)
        value = score(candidate)
        if value is not None and value > (tried[best] or 0):
            best = candidate
    return _final(device, dtype, backend, best, tried, budget_s)


def _final(device: Device, dtype: str, backend: str, best: Shape, tried: dict[Shape, float | None],
           budget_s: float, error: str | None = None) -> dict[str, Any]:
    full = TimingConfig(
        warmup_ms=200 if device.is_cuda else 50,
        rep_ms=500 if device.is_cuda else 300,
        flush="l2" if device.is_cuda else "none",
    )
    result = measure(GemmCase(*best, dtype, backend, label=f"mamf_{dtype}"), device, full)
    result["candidates"] = [{"m": m, "n": n, "k": k, "tflops": v} for (m, n, k), v in tried.items()]
    result["params"]["search_budget_s"] = budget_s
    if error and result["status"] == "ok":
        result["status"], result["error"] = "failed", error
    return result
