"""The options the ``bench`` commands share, and the one parser of byte sizes.

Click turns text into typed values here (sizes into int bytes, comma lists into tuples), so the
sweep configs of :mod:`exabench.bench.sweeps` never see a string to parse. A bad value is a
one-line :class:`~exabench.errors.UserError` naming the option (exit 2).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import click

from exabench.bench.gemm.shapes import parse_shapes, parse_sizes
from exabench.bench.sweeps import FLUSH_MODES, PREWARM_MAX_S, RunOptions
from exabench.bench.telemetry.sampler import DEFAULT_HZ
from exabench.errors import UserError

BYTE_UNITS = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12, "p": 10**15,
              "ki": 2**10, "mi": 2**20, "gi": 2**30, "ti": 2**40, "pi": 2**50}
"""SI prefixes are powers of 1000 and IEC prefixes (Ki, Mi, ...) powers of 1024 (IEC 80000-13),
as in ``numfmt --from=auto``: ``1G`` = ``1GB`` = 10^9 bytes, ``1Gi`` = ``1GiB`` = 2^30."""
BYTES_HELP = ("K/M/G/T = 10^3/10^6/10^9/10^12 bytes, Ki/Mi/Gi/Ti = 2^10/2^20/2^30/2^40; "
              "a trailing B is optional and decimals are fine (1.5G)")
_BYTES = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*([kmgtp]i?)?b?", re.IGNORECASE)


def parse_bytes(text: str, option: str = "size") -> int:
    """``8``, ``64K``, ``1.5G``, ``1GB`` (10^9), ``1GiB``/``1Gi`` (2^30) -> a positive whole
    number of bytes. ``option`` names what was given, for the error."""
    match = _BYTES.fullmatch(str(text).strip())
    value = Fraction(0)
    if match:
        value = Fraction(match.group(1)) * BYTE_UNITS[(match.group(2) or "").lower()]
    if value <= 0 or value.denominator != 1:
        raise UserError(f"{option} {text!r} is not valid; valid: a positive whole number of bytes "
                        "such as 8, 64K (10^3), 1.5G (10^9), 1GiB or 1Gi (2^30)")
    return int(value)


def _option_name(param: click.Parameter | None) -> str:
    return param.opts[0] if param is not None and param.opts else "size"


class ByteSize(click.ParamType):
    """One size in bytes (:func:`parse_bytes`)."""

    name = "bytes"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        return value if isinstance(value, int) else parse_bytes(value, _option_name(param))


class ByteSizes(click.ParamType):
    """A comma list of sizes in bytes (:func:`parse_bytes` each)."""

    name = "bytes,..."

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> tuple[int, ...]:
        if isinstance(value, tuple):
            return value
        return tuple(parse_bytes(item, _option_name(param)) for item in _split(value, param))


class Names(click.ParamType):
    """A comma list of names, lower-cased, each once in the order given; the config that takes
    it says which names are valid."""

    name = "name,..."

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> tuple[str, ...]:
        if isinstance(value, tuple):
            return value
        return tuple(dict.fromkeys(item.lower() for item in _split(value, param)))


class Sides(click.ParamType):
    """Square GEMM sides: ``1024,4096`` or ``1k,4k`` (k = 1024 elements)."""

    name = "n,..."

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> tuple[int, ...]:
        return value if isinstance(value, tuple) else tuple(parse_sizes(value))


class Shapes(click.ParamType):
    """``MxNxK`` shapes, comma-separated."""

    name = "MxNxK,..."

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> tuple[Any, ...]:
        return value if isinstance(value, tuple) else tuple(parse_shapes(value))


class Shape(Shapes):
    """One ``MxNxK`` shape (the first, if a list is given)."""

    name = "MxNxK"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> tuple[Any, ...]:
        return value if isinstance(value, tuple) else parse_shapes(value)[0]


def _split(text: str, param: click.Parameter | None) -> list[str]:
    items = [item.strip() for item in str(text).split(",") if item.strip()]
    if not items:
        raise UserError(f"{_option_name(param)} {text!r} is not valid; give a comma list")
    return items


def common_options(fn: Callable) -> Callable:
    """Options every ``bench`` subcommand takes (--quick --device --out --json and the timing)."""
    decorators = [
        click.option("--quick", is_flag=True,
                     help="A small representative subset (under 30 s on a 2-core CPU)."),
        click.option("--device", default=None,
                     help="cuda, cuda:N or cpu (default: a GPU when there is one)."),
        click.option("--out", "out_dir", default="results", show_default=True,
                     type=click.Path(file_okay=False), help="Folder for the Run document."),
        click.option("--json", "as_json", is_flag=True,
                     help="Print the Run document as JSON instead of the table."),
        click.option("--warmup-ms", type=click.FloatRange(min=0), default=None,
                     help="Warm-up budget per case (ms)."),
        click.option("--rep-ms", type=click.FloatRange(min=0, min_open=True), default=None,
                     help="Measurement budget per case (ms)."),
        click.option("--flush", type=click.Choice(list(FLUSH_MODES)), default=None,
                     help="Cache flush between timed calls: write an L2-sized buffer, rotate input "
                          "sets, or none."),
        click.option("--cuda-graph", is_flag=True,
                     help="Replay calls from a CUDA graph (launch-bound sizes)."),
        click.option("--telemetry-hz", type=click.FloatRange(min=0), default=DEFAULT_HZ,
                     show_default=True,
                     help="NVML sampling rate for power, clocks and throttle reasons (0: off)."),
        click.option("--resume", "resume", default=None, metavar="RUN",
                     type=click.Path(dir_okay=False),
                     help="Continue this interrupted Run (same options): measure only what it "
                          "lacks."),
        click.option("--floor", "floor", multiple=True, metavar="NAME[:METRIC]=MIN",
                     help="Acceptance floor, repeatable: exit 1 unless the best ok result NAME "
                          "reaches MIN (metric default: tflops, gbps or busbw_gbps), e.g. "
                          "--floor gemm_bf16=700."),
    ]
    for decorator in reversed(decorators):
        fn = decorator(fn)
    return fn


def prewarm_option(fn: Callable) -> Callable:
    option = click.option(
        "--prewarm-s", type=click.FloatRange(min=0, max=PREWARM_MAX_S), default=None,
        help="Seconds of a large GEMM before the GEMM sweep, so a cold GPU's boost doesn't inflate "
             "it (default: 30 on a GPU, 5 with --quick, 0 on a CPU).")
    return option(fn)


COMMON = ("quick", "device", "out_dir", "as_json", "warmup_ms", "rep_ms", "flush", "cuda_graph",
          "telemetry_hz", "resume", "floor", "prewarm_s")
"""The click names of :func:`common_options` and :func:`prewarm_option`."""


def run_options(options: dict[str, Any]) -> RunOptions:
    """Take the common options out of a command's ``**options`` into a :class:`RunOptions`
    (what is left are the command's own)."""
    given = {name: options.pop(name) for name in COMMON if name in options}
    return RunOptions(quick=given["quick"], device=given["device"], out_dir=given["out_dir"],
                      quiet=given["as_json"], warmup_ms=given["warmup_ms"], rep_ms=given["rep_ms"],
                      flush=given["flush"], cuda_graph=given["cuda_graph"],
                      telemetry_hz=given["telemetry_hz"], resume=given["resume"],
                      floors=tuple(given["floor"]), prewarm_s=given.get("prewarm_s"))
