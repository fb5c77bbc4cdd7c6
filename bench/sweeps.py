"""What a benchmark Run is asked to measure, as typed values: the options every run takes
(:class:`RunOptions`) and one sweep config per suite (:class:`GemmSweep`, :class:`MemorySweep`,
:class:`CollectiveSweep`).

The CLI builds them from its options (sizes already in bytes, lists already split); the
runner (:mod:`exabench.bench.runner`) and the collectives launcher take nothing else. A field
left ``None`` means "the suite's default", which depends on the device and ``quick``. Each
config checks its own fields in ``__post_init__`` and raises a one-line
:class:`~exabench.errors.UserError` that names the field as the CLI spells it (``--dtype``),
so a mistake fails before anything is measured.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

from exabench.bench.collectives.check import DTYPES as COLLECTIVE_DTYPES
from exabench.bench.collectives.check import REDOPS
from exabench.bench.collectives.ops import COLLECTIVES
from exabench.bench.floors import parse_floors
from exabench.bench.gemm import cases as gemm
from exabench.bench.gemm.shapes import LayerDims, Shape
from exabench.bench.memory import stream as memory
from exabench.errors import UserError, one_of
from exabench.workloads.models import load_model

FLUSH_MODES = ("l2", "rotate", "none")
PREWARM_MAX_S = 600.0
"""Ten minutes: far past any GPU's thermal settling (mamf-finder warms 30 s); more is a typo."""
MEMORY_LINKS = ("host", "peer")
"""The memory suite's link benchmarks, named beside the STREAM kernels in ``--kernels``."""
MEMORY_DIRECTIONS = ("h2d", "d2h", "d2d", "both")
"""Host links time h2d, d2h and both; peer links d2d and both."""


def flag(name: str) -> str:
    """A field as the CLI spells it: ``min_bytes`` -> ``--min-bytes``."""
    return "--" + name.replace("_", "-")


def _names(field_name: str, names: tuple[str, ...] | None, valid: Iterable[str]) -> None:
    """Every name of a list field is one of ``valid`` (None: the default)."""
    if names is None:
        return
    valid = tuple(valid)
    if not names:
        raise UserError(f"{flag(field_name)} is empty; valid: a comma list of {','.join(valid)}")
    bad = [n for n in names if n not in valid]
    if bad:
        raise UserError(f"{flag(field_name)} {one_of(bad[0], valid)}")


def _at_least(field_name: str, value: float | None, low: float, *, above: bool = False) -> None:
    """``value`` is finite and >= ``low`` (> with ``above``); None passes."""
    if value is None:
        return
    ok = math.isfinite(value) and (value > low if above else value >= low)
    if not ok:
        raise UserError(f"{flag(field_name)} {value!r} is not valid; valid: a number "
                        f"{'>' if above else '>='} {low:g}")


LIST = {"cli": "list"}
"""Field metadata: the CLI takes this tuple as a comma list (``bf16,fp8``, ``64,1024``)."""
SHAPE = {"cli": "shape"}
"""Field metadata: one MxNxK shape (``4096x4096x4096``); on a tuple field, a comma list of them."""


def _spelled(value: Any, how: str | None) -> Any:
    """A field's value as the CLI takes it."""
    if how == "shape":
        shapes = value if isinstance(value[0], tuple) else (value,)
        return ",".join("x".join(str(d) for d in shape) for shape in shapes)
    if how == "list":
        return ",".join(str(v) for v in value)
    return list(value) if isinstance(value, tuple) else value


def _recorded(config: Any, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """The fields the Run's ``config.options`` records: those given (not None, False or
    empty), under their CLI names and spelled as the CLI takes them, so the record reads as
    the command that was run (and ``--resume`` compares like with like)."""
    out = {}
    for f in fields(config):
        value = getattr(config, f.name)
        if f.name in skip or value is None or value is False or value == ():
            continue
        out[f.metadata.get("record", f.name)] = _spelled(value, f.metadata.get("cli"))
    return out


@dataclass(kw_only=True, frozen=True, slots=True)
class RunOptions:
    """What every benchmark run takes, whatever it measures."""

    quick: bool = False
    # a small representative subset of every sweep (under 30 s on a 2-core CPU)
    device: str | None = None
    # "cuda", "cuda:N" or "cpu"; None: a GPU when there is one
    out_dir: str = "results"
    # folder the Run document is written to
    quiet: bool = False
    # nothing on stdout: no table, progress or notes (``--json`` prints the Run instead)
    warmup_ms: float | None = None
    # warm-up budget per case, milliseconds; None: the suite's default
    rep_ms: float | None = None
    # measurement budget per case, milliseconds; None: the suite's default
    flush: str | None = None
    # cache flush between timed calls: "l2", "rotate" or "none"; None: the suite's default
    cuda_graph: bool = False
    # replay the timed calls from a CUDA graph (launch-bound sizes)
    telemetry_hz: float | None = None
    # NVML sampling rate, hertz; 0 turns telemetry off; None: DEFAULT_HZ (20), not recorded
    resume: str | None = None
    # path of an interrupted Run to finish: only what it lacks is measured
    floors: tuple[str, ...] = field(default=(), metadata={"record": "floor"})
    # acceptance floors, each "NAME[:METRIC]=MIN" (bench.floors)
    prewarm_s: float | None = None
    # seconds of large GEMMs before the GEMM sweep; None: 30 on a GPU, 5 quick, 0 on a CPU

    def __post_init__(self) -> None:
        _at_least("warmup_ms", self.warmup_ms, 0)
        _at_least("rep_ms", self.rep_ms, 0, above=True)
        _at_least("telemetry_hz", self.telemetry_hz, 0)
        _at_least("prewarm_s", self.prewarm_s, 0)
        if self.prewarm_s is not None and self.prewarm_s > PREWARM_MAX_S:
            raise UserError(f"--prewarm-s {self.prewarm_s:g} is not valid; "
                            f"valid: 0 to {PREWARM_MAX_S:g} s")
        if self.flush is not None and self.flush not in FLUSH_MODES:
            raise UserError(f"--flush {one_of(self.flush, FLUSH_MODES)}")
        parse_floors(self.floors)

    def recorded(self) -> dict[str, Any]:
        """What changes how cases are measured or judged (``quick``, the device and where the
        Run goes are recorded beside it, or not at all)."""
        return _recorded(self, skip=("quick", "device", "out_dir", "quiet", "resume"))


@dataclass(kw_only=True, frozen=True, slots=True)
class GemmSweep:
    """``exabench bench gemm``: precisions x shapes."""

    suite: ClassVar[str] = "gemm"
    dtype: tuple[str, ...] | None = field(default=None, metadata=LIST)
    # precisions (gemm.PRECISIONS); None: all on a GPU (fp32,tf32,bf16,fp8 with quick),
    # fp64,fp32 on a CPU
    sizes: tuple[int, ...] | None = field(default=None, metadata=LIST)
    # square GEMM sides, elements (M = N = K)
    shapes: tuple[Shape, ...] | None = field(default=None, metadata=SHAPE)
    # (M, N, K) triples, elements
    backend: str = "torch"
    # "torch" or "cupy"
    skinny: bool = False
    # decode-like shapes: M = 1..256 against a layer's weight matrices
    model: str | None = None
    # a model name or TOML path whose layer GEMMs to time
    tokens: int | None = None
    # tokens per micro-batch for ``model``; None: the model's sequence length
    tp: int = 1
    # tensor-parallel degree the layer's weights are split over
    mamf: bool = False
    # search the maximum achievable matmul FLOP/s near ``mamf_target``
    mamf_target: Shape = field(default=(4096, 4096, 4096), metadata=SHAPE)
    # (M, N, K) the MAMF search starts from, elements
    mamf_budget_s: float = 60.0
    # MAMF search time budget, seconds
    layer_dims: LayerDims | None = field(default=None, compare=False)
    # the layer dimensions of ``model``, resolved here (not recorded: ``model`` says it)

    def __post_init__(self) -> None:
        _names("dtype", self.dtype, gemm.PRECISIONS)
        if self.backend not in gemm.BACKENDS:
            raise UserError(f"--backend {one_of(self.backend, gemm.BACKENDS)}")
        _at_least("tokens", self.tokens, 1)
        _at_least("tp", self.tp, 1)
        _at_least("mamf_budget_s", self.mamf_budget_s, 1)
        for name in ("sizes", "shapes"):
            items = getattr(self, name) or ()
            dims = [d for item in items for d in (item if isinstance(item, tuple) else (item,))]
            if any(d < 1 for d in dims):
                raise UserError(f"{flag(name)} {min(dims)} is not valid; valid: positive sizes")
        if self.model is None:
            if self.tokens is not None:
                raise UserError("--tokens needs --model (the model whose layer GEMMs to time)")
            return
        if self.layer_dims is None:  # frozen: the resolved model is set once, here
            model = load_model(self.model)
            object.__setattr__(self, "layer_dims", LayerDims(
                hidden=model.hidden, ffn_hidden=model.ffn_hidden, heads=model.heads,
                kv_heads=model.kv_heads, gated_mlp=model.gated))
            if self.tokens is None and not self.skinny:
                object.__setattr__(self, "tokens", model.seq_len)

    def recorded(self) -> dict[str, Any]:
        return _recorded(self, skip=("layer_dims",))


@dataclass(kw_only=True, frozen=True, slots=True)
class MemorySweep:
    """``exabench bench memory``: STREAM kernels x array sizes, and the host and peer links."""

    suite: ClassVar[str] = "memory"
    kernels: tuple[str, ...] | None = field(default=None, metadata=LIST)
    # STREAM kernels and links (copy,scale,add,triad,dot,fill,host,peer); None: all (links on a GPU)
    sizes: tuple[int, ...] | None = field(default=None, metadata=LIST)
    # bytes of one array (rounded down to whole 16-byte vectors); None: a sweep past the caches
    direction: tuple[str, ...] | None = field(default=None, metadata=LIST)
    # links to time: h2d, d2h, d2d, both; None: all
    backend: tuple[str, ...] | None = field(default=None, metadata=LIST)
    # "torch" and/or "cupy"; None: both where cupy is installed
    dtype: tuple[str, ...] | None = field(default=None, metadata=LIST)
    # element type of the STREAM arrays: fp32 and/or fp64; None: fp32

    def __post_init__(self) -> None:
        _names("kernels", self.kernels, (*memory.KERNELS, *MEMORY_LINKS))
        _names("direction", self.direction, MEMORY_DIRECTIONS)
        _names("backend", self.backend, memory.BACKENDS)
        _names("dtype", self.dtype, memory.DTYPES)
        small = [s for s in self.sizes or () if s < memory.VECTOR_BYTES]
        if small:
            raise UserError(f"--sizes {small[0]} is not valid; give bytes of one array of at least "
                            f"{memory.VECTOR_BYTES}, e.g. 4M,256Mi,1G")

    def recorded(self) -> dict[str, Any]:
        return _recorded(self)


@dataclass(kw_only=True, frozen=True, slots=True)
class CollectiveSweep:
    """``exabench bench collectives``: nccl-tests' sweep (``-b -e -f -d -o -n -w``) over N ranks."""

    suite: ClassVar[str] = "collectives"
    nproc: int | None = None
    # local processes to start; None: every visible GPU, 2 on a CPU (a torchrun world is its own)
    min_bytes: int | None = None
    # smallest message, bytes (nccl-tests -b)
    max_bytes: int | None = None
    # largest message, bytes (nccl-tests -e)
    step_factor: int | None = None
    # multiplicative size step (nccl-tests -f)
    dtype: tuple[str, ...] | None = field(default=None, metadata=LIST)
    # element types (fp32,fp16,bf16,fp64,int8,int32,int64); None: fp32
    op: str = "sum"
    # reduction: sum, prod, max, min or avg (nccl-tests -o)
    iters: int | None = None
    # timed operations per size (nccl-tests -n)
    warmup_iters: int | None = None
    # untimed operations first (nccl-tests -w)
    collectives: tuple[str, ...] | None = field(default=None, metadata=LIST)
    # which collectives; None: all of them
    timeout: float = 300.0
    # seconds before a dead or hung rank ends the run (process-group timeout and watchdog)
    master_addr: str = "127.0.0.1"
    # address the local rendezvous binds
    gloo_fallback: bool = False
    # use the gloo fallbacks even where gloo has the op (tests the fallbacks)

    def __post_init__(self) -> None:
        _names("collectives", self.collectives, COLLECTIVES)
        _names("dtype", self.dtype, COLLECTIVE_DTYPES)
        if self.op not in REDOPS:
            raise UserError(f"--op {one_of(self.op, REDOPS)}")
        if self.op == "avg" and any(COLLECTIVE_DTYPES[d].bits for d in self.dtype or ()):
            raise UserError("--op avg needs floating-point --dtype (fp64, fp32, fp16, bf16)")
        for name, low in (("nproc", 1), ("min_bytes", 1), ("max_bytes", 1), ("step_factor", 2),
                          ("iters", 1), ("warmup_iters", 0), ("timeout", 1)):
            _at_least(name, getattr(self, name), low)
        if self.min_bytes and self.max_bytes and self.min_bytes > self.max_bytes:
            raise UserError(f"--min-bytes {self.min_bytes} is larger than "
                            f"--max-bytes {self.max_bytes}")


Sweep = GemmSweep | MemorySweep | CollectiveSweep
SWEEPS: dict[str, type[GemmSweep] | type[MemorySweep] | type[CollectiveSweep]] = {
    cls.suite: cls for cls in (GemmSweep, MemorySweep, CollectiveSweep)}
"""The sweep config of each suite, by suite name (a suite run with its defaults gets ``cls()``)."""
