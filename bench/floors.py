"""Acceptance floors: ``--floor NAME[:METRIC]=MIN`` fails a Run whose best result falls short.

Comparisons between Runs (``exabench compare``) catch a node that got slower than it was; a
floor catches a node that was never as fast as it must be: a new system under acceptance, or a
whole fleet power-capped by one bad setting, where every GPU agrees with the fleet median and
no outlier shows (nccl-tests has the same gate for its average bus bandwidth,
``NCCL_TESTS_MIN_BW``, NVIDIA/nccl-tests@a0b82b2 ``src/common.cu``).

``NAME`` is a result name as the table prints it (``gemm_bf16``, ``triad``, ``h2d_pinned``,
``all_reduce``, ``mamf_bf16``); ``METRIC`` one of its metrics, by default the suite's headline
(``tflops`` for GEMM, ``gbps`` for memory, ``busbw_gbps`` for collectives). The floor holds when
the best ``ok`` result of that name reaches ``MIN`` on that metric (a metric computed from the
median time). A floor no ``ok`` result measured is missed: what acceptance asks for must run.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from exabench.bench.writer import RunWriter
from exabench.errors import UserError

HEADLINE = {"gemm": "tflops", "memory": "gbps", "collectives": "busbw_gbps"}
_SPEC = re.compile(
    r"(?P<name>[A-Za-z0-9_.\-]+?)(?::(?P<metric>[A-Za-z0-9_]+))?\s*(?:>=|=)\s*(?P<min>\S+)"
)


@dataclass(frozen=True)
class Floor:
    name: str
    metric: str | None
    minimum: float
    text: str


def parse_floors(specs: tuple[str, ...] | list[str] | None) -> list[Floor]:
    floors = []
    for spec in specs or ():
        match = _SPEC.fullmatch(spec.strip())
        try:
            minimum = float(match.group("min")) if match else math.nan
        except ValueError:
            minimum = math.nan
        if not match or not math.isfinite(minimum) or minimum < 0:
            raise UserError(
                f"--floor {spec!r} is not valid; give NAME[:METRIC]=MIN with MIN a number >= 0, "
                "e.g. gemm_bf16=700, triad:gbps=2900, all_reduce:busbw_gbps=400"
            )
        floors.append(Floor(match.group("name"), match.group("metric"), minimum, spec.strip()))
    return floors


def check_floors(results: list[dict[str, Any]], floors: list[Floor]) -> list[dict[str, Any]]:
    """One verdict per floor: ``floor``, ``name``, ``metric``, ``min``, ``best`` (None when no
    ``ok`` result of that name has the metric), ``params`` of the best result, ``ok``."""
    verdicts = []
    for floor in floors:
        best: tuple[float, dict[str, Any]] | None = None
        metric = floor.metric
        for result in results:
            if result.get("name") != floor.name or result.get("status") != "ok":
                continue
            key = metric or HEADLINE.get(str(result.get("suite")))
            value = (result.get("metrics") or {}).get(key) if key else None
            if (
                isinstance(value, (int, float))
                and not isinstance(value, bool)
                and math.isfinite(value)
            ):
                metric = key
                if best is None or value > best[0]:
                    best = (float(value), result.get("params") or {})
        verdicts.append({
            "floor": floor.text,
            "name": floor.name,
            "metric": metric,
            "min": floor.minimum,
            "best": None if best is None else best[0],
            "params": None if best is None else best[1],
            "ok": best is not None and best[0] >= floor.minimum,
        })
    return verdicts


def describe(verdict: dict[str, Any]) -> str:
    what = f"{verdict['name']}:{verdict['metric'] or '?'}"
    if verdict["best"] is None:
        return f"{what} not measured (no ok result of that name) < {verdict['min']:g} MISSED"
    sign, word = (">=", "ok") if verdict["ok"] else ("<", "MISSED")
    return f"{what} best {verdict['best']:.4g} {sign} {verdict['min']:g} {word}"


def missed(verdicts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [v for v in verdicts if not v["ok"]]


def missed_message(verdicts: list[dict[str, Any]], path: str | Path | None) -> str | None:
    """Why a Run that measured fine fails (exit 1): a floor missed; None when none was."""
    below = missed(verdicts)
    if not below:
        return None
    return f"{len(below)} acceptance floor(s) missed ({describe(below[0])}); Run kept in {path}"


def record_floors(writer: RunWriter, floors: list[Floor], *, quiet: bool) -> list[dict[str, Any]]:
    """Check the Run being written against ``floors`` and record the verdicts in it
    (``floors``); print one line each unless ``quiet``. Returns the verdicts."""
    if not floors:
        return []
    verdicts = check_floors(writer.results, floors)
    writer.set("floors", verdicts)
    if not quiet:
        for verdict in verdicts:
            print(f"# floor {describe(verdict)}", flush=True)
    return verdicts


def apply_floors(path: str | Path, floors: list[Floor], *, quiet: bool) -> list[dict[str, Any]]:
    """:func:`record_floors` for a finished Run another process wrote (``bench collectives``'
    rank 0)."""
    if not floors:
        return []
    writer = RunWriter.resume(path)
    try:
        return record_floors(writer, floors, quiet=quiet)
    finally:
        writer.close()
