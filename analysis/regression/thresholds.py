"""Per-benchmark thresholds for ``exabench compare --thresholds FILE`` (a TOML file).

Format (every key optional; percentages, as on the command line)::

    threshold = 5            # practical threshold for every benchmark (--threshold wins over it)
    max_cv = 10              # stability gate: robust cv above this makes a verdict inconclusive

    [[override]]             # later overrides win; each sets only the keys it has
    suite = "gemm"           # glob (fnmatch) on the suite
    name = "gemm_fp64*"      # glob on the result name
    params = { m = 128 }     # every listed param must equal the result's
    threshold = 15
    max_cv = 25

Overrides instead of one ``{pattern: value}`` map because result ids carry params with
brackets and commas that a glob would read as syntax; the per-benchmark override list is
what CodSpeed and Bencher offer, and what pytest-benchmark users ask for
(ionelmc/pytest-benchmark#57).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from fnmatch import fnmatchcase
from typing import Any

from exabench.analysis.regression.stats import Gate
from exabench.errors import UserError, one_of

TOP_KEYS = ("threshold", "max_cv", "override")
OVERRIDE_KEYS = ("suite", "name", "params", "threshold", "max_cv")


@dataclass(kw_only=True, frozen=True)
class Override:
    suite: str = "*"
    name: str = "*"
    params: tuple[tuple[str, Any], ...] = ()
    threshold: float | None = None
    """Percent."""
    max_cv: float | None = None
    """Percent."""

    def matches(self, suite: str, name: str, params: Mapping[str, Any]) -> bool:
        return (fnmatchcase(suite, self.suite) and fnmatchcase(name, self.name)
                and all(params.get(key) == value for key, value in self.params))


@dataclass(kw_only=True, frozen=True)
class Rules:
    threshold: float | None = None
    """Percent; None: the command line's (or built-in) default."""
    max_cv: float | None = None
    overrides: tuple[Override, ...] = ()

    def gate_for(self, gate: Gate, suite: str, name: str, params: Mapping[str, Any]) -> Gate:
        """``gate`` with this file's per-benchmark values applied (later overrides win)."""
        threshold, max_cv = None, None
        for override in self.overrides:
            if override.matches(suite, name, params):
                threshold = override.threshold if override.threshold is not None else threshold
                max_cv = override.max_cv if override.max_cv is not None else max_cv
        if threshold is None and max_cv is None:
            return gate
        return replace(gate,
                       threshold=gate.threshold if threshold is None else threshold / 100,
                       max_cv=gate.max_cv if max_cv is None else max_cv / 100)


def _percent(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1000:
        raise UserError(one_of(value, "a percentage from 0 to 1000, e.g. 5", name=where))
    return float(value)


def _glob(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise UserError(one_of(value, 'a non-empty glob, e.g. "gemm_*"', name=where))
    return value


def parse_rules(doc: Mapping[str, Any], source: str = "thresholds") -> Rules:
    """Validate a parsed thresholds TOML document; unknown keys are errors, not ignored."""
    unknown = sorted(set(doc) - set(TOP_KEYS))
    if unknown:
        raise UserError(f"{source}: unknown key {unknown[0]!r}; valid: {', '.join(TOP_KEYS)}")
    overrides = doc.get("override", [])
    if not isinstance(overrides, list) or not all(isinstance(o, dict) for o in overrides):
        raise UserError(f"{source}: 'override' must be an array of tables ([[override]])")
    parsed = []
    for i, entry in enumerate(overrides, start=1):
        where = f"{source}: override {i}"
        bad = sorted(set(entry) - set(OVERRIDE_KEYS))
        if bad:
            raise UserError(f"{where}: unknown key {bad[0]!r}; valid: {', '.join(OVERRIDE_KEYS)}")
        if "threshold" not in entry and "max_cv" not in entry:
            raise UserError(f"{where} sets neither threshold nor max_cv")
        params = entry.get("params", {})
        if not isinstance(params, dict):
            raise UserError(f"{where}: params must be a table, e.g. params = {{ m = 128 }}")
        parsed.append(
            Override(
                suite=_glob(entry.get("suite", "*"), f"{where} suite"),
                name=_glob(entry.get("name", "*"), f"{where} name"),
                params=tuple(sorted(params.items())),
                threshold=(
                    _percent(entry["threshold"], f"{where} threshold")
                    if "threshold" in entry
                    else None
                ),
                max_cv=_percent(entry["max_cv"], f"{where} max_cv") if "max_cv" in entry else None,
            )
        )
    return Rules(
        threshold=(
            _percent(doc["threshold"], f"{source}: threshold") if "threshold" in doc else None
        ),
        max_cv=_percent(doc["max_cv"], f"{source}: max_cv") if "max_cv" in doc else None,
        overrides=tuple(parsed),
    )
