"""From a :class:`~exabench.bench.sweeps.CollectiveSweep` to the
:class:`~exabench.bench.collectives.sweep.SweepSpec` every rank runs, and back to the argument
list the local launcher hands each rank.

Sizes follow nccl-tests: ``--min-bytes`` (``-b``), ``--max-bytes`` (``-e``), ``--step-factor``
(``-f``). The defaults are powers of two, as nccl-tests' own sweeps are.
"""

from __future__ import annotations

from exabench.bench.collectives.ops import COLLECTIVES
from exabench.bench.collectives.sweep import SweepSpec
from exabench.bench.sweeps import CollectiveSweep, RunOptions
from exabench.errors import UserError

KIB, MIB, GIB = 1 << 10, 1 << 20, 1 << 30
# (min bytes, max bytes, step factor, iters, warm-up iters) by (device, quick).
DEFAULTS = {
    ("cuda", True): (MIB, GIB, 4, 20, 5),
    ("cuda", False): (8, GIB, 2, 20, 5),
    ("cpu", True): (KIB, MIB, 32, 5, 2),
    ("cpu", False): (8, 16 * MIB, 4, 20, 5),
}


def sweep_sizes(min_bytes: int, max_bytes: int, factor: int) -> list[int]:
    """``min, min*f, min*f^2, ... <= max`` (nccl-tests ``-f``)."""
    if min_bytes > max_bytes:
        raise UserError(f"--min-bytes {min_bytes} is larger than --max-bytes {max_bytes}")
    if factor < 2:
        raise UserError(f"--step-factor {factor} is not valid; valid: an integer >= 2")
    sizes, size = [], min_bytes
    while size <= max_bytes:
        sizes.append(size)
        size *= factor
    return sizes


def build_spec(sweep: CollectiveSweep, device: str, quick: bool,
               options: RunOptions | None = None) -> SweepSpec:
    """The sweep's defaults filled in for ``device`` (``cuda`` or ``cpu``) and ``quick``;
    ``options`` are the run's common ones, of which collectives take only ``--cuda-graph``."""
    options = options or RunOptions()
    for name in ("warmup_ms", "rep_ms", "flush"):
        if getattr(options, name) is not None:
            raise UserError(f"--{name.replace('_', '-')} does not apply to collectives: they "
                            "time a fixed number of operations (use --iters and --warmup-iters)")
    if options.cuda_graph and device != "cuda":
        raise UserError("--cuda-graph needs CUDA GPUs; this run is on the CPU")
    lo, hi, step, iters, warmup = DEFAULTS[(device, quick)]
    sizes = sweep_sizes(sweep.min_bytes or lo, sweep.max_bytes or hi, sweep.step_factor or step)
    return SweepSpec(
        collectives=sweep.collectives or tuple(COLLECTIVES), sizes=tuple(sizes),
        dtypes=sweep.dtype or ("fp32",), op=sweep.op, iters=sweep.iters or iters,
        warmup_iters=warmup if sweep.warmup_iters is None else sweep.warmup_iters,
        cuda_graph=options.cuda_graph, device=device, timeout_s=float(sweep.timeout),
        gloo_fallback=sweep.gloo_fallback,
    )


def child_argv(
    spec: SweepSpec, *, out_dir: str, as_json: bool, append_to: str | None = None
) -> list[str]:
    """The options each local rank runs with: the resolved spec, nothing left to defaults."""
    argv = [
        "--device",
        spec.device,
        "--out",
        out_dir,
        "--min-bytes",
        str(spec.sizes[0]),
        "--max-bytes",
        str(spec.sizes[-1]),
        "--step-factor",
        str(_factor(spec.sizes)),
        "--dtype",
        ",".join(spec.dtypes),
        "--op",
        spec.op,
        "--iters",
        str(spec.iters),
        "--warmup-iters",
        str(spec.warmup_iters),
        "--collectives",
        ",".join(spec.collectives),
        "--timeout",
        str(spec.timeout_s),
    ]
    if spec.cuda_graph:
        argv.append("--cuda-graph")
    if spec.gloo_fallback:
        argv.append("--gloo-fallback")
    if as_json:
        argv.append("--json")
    if append_to:
        argv += ["--append-to", append_to]
    return argv


def _factor(sizes: tuple[int, ...]) -> int:
    return sizes[1] // sizes[0] if len(sizes) > 1 else 2
