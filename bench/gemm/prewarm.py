"""Heat the GPU before the GEMM sweep, so its figures are the sustained ones.

A cold GPU boosts higher than a warm one: "a cold accelerator gives a higher score than the same
shape run after a dozen other shapes" (mamf-finder, which runs 30 s of its first shape before
its sweep; stas00/ml-engineering@744d01e ``compute/accelerator/benchmarks/mamf-finder.py``). The
per-case warm-up of the
harness (tens of ms) settles caches and cuBLAS heuristics, not temperature, so on a GPU the
GEMM suite first runs a large random GEMM for ``--prewarm-s`` seconds (default 30, 5 with
``--quick``, 0 on a CPU, which has no such boost to lose) and records what it did in the Run.
"""

from __future__ import annotations

import time
from typing import Any

from exabench.bench.device import Device

FULL_S = 30.0
QUICK_S = 5.0
GPU_SHAPE = (8192, "bf16")
CPU_SHAPE = (512, "fp32")
SYNC_EVERY_S = 0.05
"""Synchronise this often so the loop never queues more work than the budget."""


def default_seconds(device: Device, quick: bool) -> float:
    if not device.is_cuda:
        return 0.0
    return QUICK_S if quick else FULL_S


def prewarm(device: Device, seconds: float) -> dict[str, Any]:
    """Run back-to-back random square GEMMs for ``seconds``; return what ran (for the Run)."""
    import torch

    size, dtype_name = GPU_SHAPE if device.is_cuda else CPU_SHAPE
    dtype = torch.bfloat16 if dtype_name == "bf16" else torch.float32
    gen = torch.Generator(device=device.torch_device).manual_seed(0)
    a = torch.randn(size, size, generator=gen, device=device.torch_device).to(dtype)
    b = torch.randn(size, size, generator=gen, device=device.torch_device).to(dtype)
    c = torch.empty(size, size, device=device.torch_device, dtype=dtype)
    calls, batch = 0, 1
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        t0 = time.perf_counter()
        for _ in range(batch):
            torch.mm(a, b, out=c)
        device.synchronize()
        calls += batch
        now = time.perf_counter()
        if now >= deadline:
            break
        # Grow the batch towards SYNC_EVERY_S of work per synchronise (fewer host round trips).
        per_call = (now - t0) / batch
        batch = max(
            1,
            min(
                int(SYNC_EVERY_S / max(per_call, 1e-9)),
                int((deadline - now) / max(per_call, 1e-9)) + 1,
            ),
        )
    elapsed = time.perf_counter() - start
    del a, b, c
    return {
        "seconds": elapsed,
        "calls": calls,
        "m": size,
        "n": size,
        "k": size,
        "dtype": dtype_name,
        "tflops": 2.0 * size**3 * calls / elapsed / 1e12,
        "why": "GPU clocks fall as the card heats; timing starts warm (mamf-finder warms 30 s)",
    }
