"""The benchmark suites ``exabench bench`` knows, and how each turns options into cases.

A suite is a function ``(options, device, quick) -> list of cases`` plus its default timing.
Adding a benchmark family means adding one entry to :data:`SUITES`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from exabench.bench.device import Device
from exabench.bench.gemm import cases as gemm
from exabench.bench.gemm import shapes
from exabench.bench.harness import Case, TimingConfig
from exabench.bench.memory import suite as memsuite
from exabench.errors import UserError


def parse_dtypes(text: str | None, valid: tuple[str, ...], default: tuple[str, ...]) -> list[str]:
    if not text:
        return list(default)
    dtypes = [t.strip().lower() for t in text.split(",") if t.strip()]
    bad = [d for d in dtypes if d not in valid]
    if bad:
        raise UserError(f"--dtype {bad[0]!r} is not valid; valid: {','.join(valid)}")
    return dtypes


def gemm_cases(options: dict[str, Any], device: Device, quick: bool) -> list[Case]:
    backend = options.get("backend") or "torch"
    if backend not in gemm.BACKENDS:
        raise UserError(f"--backend {backend!r} is not valid; valid: {', '.join(gemm.BACKENDS)}")
    default = gemm.GPU_DEFAULT if device.is_cuda else gemm.CPU_DEFAULT
    if quick and device.is_cuda:
        default = ("fp32", "tf32", "bf16", "fp8")
    dtypes = parse_dtypes(options.get("dtype"), tuple(gemm.PRECISIONS), default)

    named: list[tuple[str | None, shapes.Shape]] = []
    if options.get("shapes"):
        named += [(None, s) for s in shapes.parse_shapes(options["shapes"])]
    if options.get("sizes"):
        named += [(None, s) for s in shapes.square(shapes.parse_sizes(options["sizes"]))]
    if options.get("skinny"):
        weights = shapes.layer_weights(options.get("layer_dims") or shapes.LLAMA3_8B, options.get("tp") or 1)
        named += [(f"skinny_{label}", s) for label, s in shapes.skinny(weights)]
    if options.get("layer_dims") and options.get("tokens"):
        layer = shapes.transformer_layer(options["layer_dims"], options["tokens"], options.get("tp") or 1)
        named += [(f"layer_{label}", s) for label, s in layer.items()]
    if not named:
        if device.is_cuda:
            sizes = shapes.QUICK_GPU_SIZES if quick else shapes.FULL_GPU_SIZES
        else:
            sizes = shapes.QUICK_CPU_SIZES if quick else shapes.FULL_CPU_SIZES
        named = [(None, s) for s in shapes.square(sizes)]

    cases: list[Case] = []
    for dtype in dtypes:
        for label, (m, n, k) in named:
            case_label = f"{label}_{dtype}" if label else None
            cases.append(gemm.GemmCase(m, n, k, dtype, backend, label=case_label))
    return cases


def gemm_timing(device: Device, quick: bool) -> TimingConfig:
    if device.is_cuda:
        # mamf-finder warms for seconds; 200 ms per shape after a global warm-up keeps the
        # clocks settled without making a sweep take hours.
        return TimingConfig(warmup_ms=50 if quick else 200, rep_ms=100 if quick else 300, flush="l2")
    # On the CPU a flush would only add cold-cache misses to small shapes; the sizes that
    # matter exceed the caches anyway.
    return TimingConfig(warmup_ms=20 if quick else 50, rep_ms=100 if quick else 300,
                        min_samples=5, max_samples=200, flush="none")


@dataclass(frozen=True)
class Suite:
    name: str
    cases: Callable[[dict[str, Any], Device, bool], list[Case]]
    timing: Callable[[Device, bool], TimingConfig]
    run: Callable[..., Any] | None = None
    """For a suite that starts its own processes (collectives): ``run(writer, device, quick,
    quiet) -> writer``, called after the single-process suites, appending to the same Run."""
    pending: Callable[[list[dict[str, Any]], Device, bool], int] | None = None
    """With ``run``: how many of its cases the results of a resumed Run still lack."""


def _run_collectives(writer: Any, device: Device, quick: bool, quiet: bool) -> Any:
    from exabench.bench.collectives.driver import run_in_all

    return run_in_all(writer, device, quick, quiet)


def _collectives_pending(results: list[dict[str, Any]], device: Device, quick: bool) -> int:
    from exabench.bench.collectives.driver import pending_in_all

    return pending_in_all(results, device, quick)


SUITES: dict[str, Suite] = {
    "gemm": Suite("gemm", gemm_cases, gemm_timing),
    "memory": Suite("memory", memsuite.memory_cases, memsuite.memory_timing),
    "collectives": Suite("collectives", lambda *_: [], gemm_timing, run=_run_collectives, pending=_collectives_pending),
}
