"""From ``exabench bench collectives`` options to a :class:`~exabench.bench.collectives.sweep.SweepSpec`,
and back to the argument list the local launcher hands each rank.

Sizes follow nccl-tests: ``--min-bytes`` (``-b``), ``--max-bytes`` (``-e``), ``--step-factor``
(``-f``), with K/M/G suffixes meaning 2^10, 2^20, 2^30 (nccl-tests ``parsesize``).
"""

from __future__ import annotations

import re
from typing import Any

from exabench.bench.collectives.check import DTYPES, REDOPS
from exabench.bench.collectives.ops import COLLECTIVES
from exabench.bench.collectives.sweep import SweepSpec
from exabench.errors import UserError

SUFFIXES = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}
# (min bytes, max bytes, step factor, iters, warm-up iters) by (device, quick).
DEFAULTS = {
    ("cuda", True): ("1M", "1G", 4, 20, 5),
    ("cuda", False): ("8", "1G", 2, 20, 5),
    ("cpu", True): ("1K", "1M", 32, 5, 2),
    ("cpu", False): ("8", "16M", 4, 20, 5),
}


def parse_bytes(text: str | int, option: str = "--min-bytes") -> int:
    """``8``, ``1K``, ``1M``, ``1G`` (also ``1KB``, ``1KiB``; binary multiples)."""
    if isinstance(text, int):
        return text
    match = re.fullmatch(r"\s*(\d+)\s*([kKmMgGtT]?)(?:i?[bB])?\s*", str(text))
    if not match or int(match.group(1)) == 0:
        raise UserError(f"{option} {text!r} is not valid; valid: a positive byte count such as 8, 1K, 1M, 1G")
    return int(match.group(1)) * SUFFIXES[match.group(2).lower()]


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


def parse_list(text: str | None, valid: tuple[str, ...], option: str, default: tuple[str, ...]) -> tuple[str, ...]:
    if not text or text.strip().lower() == "all" and option == "--collectives":
        return default
    items = tuple(t.strip().lower() for t in text.split(",") if t.strip())
    bad = [t for t in items if t not in valid]
    if bad or not items:
        raise UserError(f"{option} {(bad or [text])[0]!r} is not valid; valid: {','.join(valid)}")
    return tuple(dict.fromkeys(items))


def build_spec(options: dict[str, Any], device: str, quick: bool) -> SweepSpec:
    """Validate every option (so a mistake fails before any process starts)."""
    for name in ("warmup_ms", "rep_ms", "flush"):
        if options.get(name) is not None:
            flag = "--" + name.replace("_", "-")
            raise UserError(f"{flag} does not apply to collectives: they time a fixed number of "
                            "operations (use --iters and --warmup-iters)")
    if options.get("cuda_graph") and device != "cuda":
        raise UserError("--cuda-graph needs CUDA GPUs; this run is on the CPU")
    lo, hi, step, iters, warmup = DEFAULTS[(device, quick)]
    sizes = sweep_sizes(parse_bytes(options.get("min_bytes") or lo, "--min-bytes"),
                        parse_bytes(options.get("max_bytes") or hi, "--max-bytes"),
                        options.get("step_factor") or step)
    dtypes = parse_list(options.get("dtype"), tuple(DTYPES), "--dtype", ("fp32",))
    op = (options.get("op") or "sum").lower()
    if op not in REDOPS:
        raise UserError(f"--op {op!r} is not valid; valid: {', '.join(REDOPS)}")
    if op == "avg" and any(DTYPES[d].bits for d in dtypes):
        raise UserError("--op avg needs floating-point --dtype (fp64, fp32, fp16, bf16)")
    return SweepSpec(
        collectives=parse_list(options.get("collectives"), tuple(COLLECTIVES), "--collectives", tuple(COLLECTIVES)),
        sizes=tuple(sizes), dtypes=dtypes, op=op,
        iters=options.get("iters") or iters,
        warmup_iters=warmup if options.get("warmup_iters") is None else options["warmup_iters"],
        cuda_graph=bool(options.get("cuda_graph")), device=device,
        timeout_s=float(options.get("timeout") or 300.0), gloo_fallback=bool(options.get("gloo_fallback")),
    )


def child_argv(spec: SweepSpec, *, out_dir: str, as_json: bool, append_to: str | None = None) -> list[str]:
    """The options each local rank runs with: the resolved spec, nothing left to defaults."""
    argv = ["--device", spec.device, "--out", out_dir,
            "--min-bytes", str(spec.sizes[0]), "--max-bytes", str(spec.sizes[-1]),
            "--step-factor", str(_factor(spec.sizes)), "--dtype", ",".join(spec.dtypes), "--op", spec.op,
            "--iters", str(spec.iters), "--warmup-iters", str(spec.warmup_iters),
            "--collectives", ",".join(spec.collectives), "--timeout", str(spec.timeout_s)]
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
