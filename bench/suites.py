"""The benchmark suites ``exabench bench`` knows, and how each turns options into cases.

A suite is a function ``(sweep, device, quick) -> list of cases`` (its sweep config from
:mod:`exabench.bench.sweeps`) plus its default timing. Adding a benchmark family means adding
its sweep config there and one entry to :data:`SUITES`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from exabench.bench.collectives.driver import pending_in_all, run_in_all
from exabench.bench.device import Device
from exabench.bench.gemm import cases as gemm
from exabench.bench.gemm import shapes
from exabench.bench.harness import Case, TimingConfig
from exabench.bench.memory import suite as memsuite
from exabench.bench.sweeps import GemmSweep


def gemm_cases(sweep: GemmSweep, device: Device, quick: bool) -> list[Case]:
    default = gemm.GPU_DEFAULT if device.is_cuda else gemm.CPU_DEFAULT
    if quick and device.is_cuda:
        default = ("fp32", "tf32", "bf16", "fp8")
    named: list[tuple[str | None, shapes.Shape]] = []
    named += [(None, s) for s in sweep.shapes or ()]
    named += [(None, s) for s in shapes.square(sweep.sizes or ())]
    if sweep.skinny:
        weights = shapes.layer_weights(sweep.layer_dims or shapes.LLAMA3_8B, sweep.tp)
        named += [(f"skinny_{label}", s) for label, s in shapes.skinny(weights)]
    if sweep.layer_dims and sweep.tokens:
        layer = shapes.transformer_layer(sweep.layer_dims, sweep.tokens, sweep.tp)
        named += [(f"layer_{label}", s) for label, s in layer.items()]
    if not named:
        if device.is_cuda:
            sizes = shapes.QUICK_GPU_SIZES if quick else shapes.FULL_GPU_SIZES
        else:
            sizes = shapes.QUICK_CPU_SIZES if quick else shapes.FULL_CPU_SIZES
        named = [(None, s) for s in shapes.square(sizes)]
    return [gemm.GemmCase(m, n, k, dtype, sweep.backend,
                          label=f"{label}_{dtype}" if label else None)
            for dtype in sweep.dtype or default for label, (m, n, k) in named]


def gemm_timing(device: Device, quick: bool) -> TimingConfig:
    if device.is_cuda:
        # mamf-finder warms for seconds; 200 ms per shape after a global warm-up keeps the
        # clocks settled without making a sweep take hours.
        return TimingConfig(
            warmup_ms=50 if quick else 200, rep_ms=100 if quick else 300, flush="l2"
        )
    # On the CPU a flush would only add cold-cache misses to small shapes; the sizes that
    # matter exceed the caches anyway.
    return TimingConfig(warmup_ms=20 if quick else 50, rep_ms=100 if quick else 300,
                        min_samples=5, max_samples=200, flush="none")


@dataclass(frozen=True)
class Suite:
    name: str
    cases: Callable[[Any, Device, bool], list[Case]]
    timing: Callable[[Device, bool], TimingConfig]
    run: Callable[..., Any] | None = None
    """For a suite that starts its own processes (collectives): ``run(writer, device, quick,
    quiet) -> writer``, called after the single-process suites, appending to the same Run."""
    pending: Callable[[list[dict[str, Any]], Device, bool], int] | None = None
    """With ``run``: how many of its cases the results of a resumed Run still lack."""


SUITES: dict[str, Suite] = {
    "gemm": Suite("gemm", gemm_cases, gemm_timing),
    "memory": Suite("memory", memsuite.memory_cases, memsuite.memory_timing),
    "collectives": Suite("collectives", lambda *_: [], gemm_timing, run=run_in_all,
                         pending=pending_in_all),
}
