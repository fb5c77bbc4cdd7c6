"""Framework presets: how a training framework runs by default, read from
``workloads/frameworks/*.toml``.

A preset is a set of knobs the planner reads instead of assuming one framework's behaviour:
which communication it overlaps with compute, how it buckets the data-parallel gradient
reduction, which attention kernel and fusions it uses, how it shards and recomputes. Each
shipped file cites, per knob, the framework's public configuration it came from (repo@commit
path and flag, or a docs page).

Schema: ``name``, ``description``, ``source``, a ``[knobs]`` table with every knob in
:data:`KNOBS`, and a ``[sources]`` table with one non-empty string per knob. Unknown keys,
missing knobs, missing sources and wrong types are errors, never ignored or defaulted: a typo
would otherwise silently plan a different framework.

Units: ``dp_bucket_mb`` is in MB of 10**6 bytes (a bucket of ``n`` gradient elements reduced
at ``b`` bytes each is ``n * b / 1e6`` MB), or the word ``"layer"`` where the framework reduces
one transformer block at a time (FSDP), so the size follows the model. ``grad_reduce_bytes`` is
bytes per gradient element on the wire (fp32 = 4, bf16 = 2).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from exabench.errors import UserError, one_of
from exabench.workloads.tomlfile import read_toml, resolve_spec, shipped_names

PER_LAYER = "layer"
"""``dp_bucket_mb`` value for frameworks whose data-parallel unit is one transformer block."""

MAX_BUCKET_MB = 1e6
"""A terabyte bucket: beyond any framework's setting; bounds keep the arithmetic finite."""

KNOBS: dict[str, tuple[type, tuple[Any, ...] | None]] = {
    "sequence_parallel": (bool, None),
    "tp_comm_overlap": (bool, None),
    "overlap_dp": (bool, None),
    "dp_bucket_mb": (float, (PER_LAYER,)),
    "pp_comm_overlap": (bool, None),
    "cp_comm_overlap": (bool, None),
    "ep_comm_overlap": (bool, None),
    "fsdp_prefetch": (bool, None),
    "cuda_graphs": (bool, None),
    "attention_kernel": (str, ("fa2", "fa3", "cudnn", "unfused")),
    "fused_elementwise": (bool, None),
    "grad_reduce_bytes": (int, (2, 4)),
    "zero": (int, (0, 1, 2, 3)),
    "recompute": (str, ("none", "selective", "full")),
}
"""Knob name -> (Python type, allowed values or None). For ``str`` and ``int`` knobs the tuple
is the closed set of valid values; for the one ``float`` knob, ``dp_bucket_mb``, it lists the
words accepted in place of a positive number of MB."""

TOP_KEYS = {"name", "description", "source", "knobs", "sources"}


@dataclass(kw_only=True, frozen=True)
class Framework:
    """A framework preset: its knobs (see :data:`KNOBS`) and, per knob, where the value came
    from."""

    name: str
    description: str = ""
    source: str = ""
    knobs: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)


def _check_table(where: str, doc: dict[str, Any], key: str) -> dict[str, Any]:
    table = doc.get(key)
    if table is None:
        raise UserError(f"{where}: missing [{key}] table; it needs {', '.join(KNOBS)}")
    if not isinstance(table, dict):
        raise UserError(f"{where}: {key} must be a table ([{key}]) with {', '.join(KNOBS)}")
    unknown = sorted(set(table) - set(KNOBS))
    if unknown:
        raise UserError(f"{where}: unknown key in [{key}]: {one_of(unknown[0], list(KNOBS))}")
    missing = [k for k in KNOBS if k not in table]
    if missing:
        raise UserError(
            f"{where}: [{key}] lacks {missing[0]!r}; every knob needs one: {', '.join(KNOBS)}"
        )
    return table


def _bucket(where: str, value: Any) -> float | str:
    words = KNOBS["dp_bucket_mb"][1] or ()
    if isinstance(value, str) and value in words:
        return value
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or not 0 < value <= MAX_BUCKET_MB
    ):
        valid = f"a number of MB in (0, {MAX_BUCKET_MB:,.0f}] or {' or '.join(map(repr, words))}"
        raise UserError(f"{where}: {one_of(value, valid, name='knobs.dp_bucket_mb')}")
    return float(value)


def check_knob(where: str, name: str, value: Any) -> Any:
    """``value`` for knob ``name`` if it has the knob's type and an allowed value (ints are
    accepted for the float knob and returned as floats); one UserError naming the knob
    otherwise."""
    if name not in KNOBS:
        raise UserError(f"{where}: {one_of(name, list(KNOBS), name='knob')}")
    kind, allowed = KNOBS[name]
    if kind is float:
        return _bucket(where, value)
    label = f"knobs.{name}"
    if kind is bool:
        if not isinstance(value, bool):
            raise UserError(f"{where}: {one_of(value, 'true or false', name=label)}")
        return value
    if isinstance(value, bool) or not isinstance(value, kind) or value not in (allowed or ()):
        raise UserError(f"{where}: {one_of(value, allowed or kind.__name__, name=label)}")
    return value


def parse_framework(doc: dict[str, Any], where: str) -> Framework:
    """Validate a parsed framework TOML; every problem is one UserError naming the field."""
    unknown = sorted(set(doc) - TOP_KEYS)
    if unknown:
        raise UserError(f"{where}: unknown key: {one_of(unknown[0], sorted(TOP_KEYS))}")
    for text in ("name", "description", "source"):
        if not isinstance(doc.get(text, ""), str):
            raise UserError(f"{where}: {text} = {doc[text]!r} must be a string")
    knobs = {k: check_knob(where, k, v) for k, v in _check_table(where, doc, "knobs").items()}
    sources = _check_table(where, doc, "sources")
    for knob, text in sources.items():
        if not isinstance(text, str) or not text.strip():
            raise UserError(
                f"{where}: sources.{knob} = {text!r} is not valid; it must say where the value"
                " comes from (repo@commit path and flag, or a docs page)"
            )
    return Framework(
        name=doc.get("name") or Path(where).stem,
        description=doc.get("description", ""),
        source=doc.get("source", ""),
        knobs={k: knobs[k] for k in KNOBS},
        sources={k: sources[k] for k in KNOBS},
    )


def load_framework(name_or_path: str) -> Framework:
    """A shipped framework by name (``megatron``) or a framework TOML by path."""
    path = resolve_spec("frameworks", name_or_path)
    return parse_framework(read_toml(path), str(path))


def framework_names() -> list[str]:
    """Names of the shipped framework presets (file stems, sorted)."""
    return shipped_names("frameworks")
