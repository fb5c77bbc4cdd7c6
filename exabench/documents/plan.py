"""The Plan document (``schema = "exabench.plan/1"``): one training run, predicted, as a type,
and its reader.

The planner (:mod:`exabench.analysis.planner.plan`) builds it; ``exabench plan --format json``
prints it, ``exabench run`` writes it, ``exabench report`` reads it. A :class:`Plan` is the
parsed JSON object itself (a typed dict), so reading and writing one changes no byte:
:func:`check_plan` checks parsed JSON and returns it as a :class:`Plan`, :func:`plan_to_json`
is the way back.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, TypedDict

from exabench.documents import check_versioned, read_json
from exabench.documents.schema import validate

SCHEMA = "exabench.plan/1"
PREFIX = SCHEMA.rsplit("/", 1)[0] + "/"
REQUIRED_FIELDS = ("schema", "inputs", "step_time_s")


class _PlanFields(TypedDict):
    schema: str
    inputs: dict[str, Any]
    """The resolved model, hardware, cluster, layout and assumptions, with the source of each
    assumption (``assumptions``) and the layout fields the search chose (``chosen_by_search``)."""
    step_time_s: float


class Plan(_PlanFields, total=False):
    """One Plan document, checked (:func:`check_plan`)."""

    tokens_per_s_per_gpu: float
    model_tflops_per_gpu: float
    mfu: float
    """Model FLOPs utilisation at the dense peak of the precision used (PaLM appendix B)."""
    hfu: float
    """Hardware FLOPs utilisation: recompute counted too."""
    memory: dict[str, Any]
    """``gib_per_gpu``, ``fits`` and its parts."""
    breakdown_s: dict[str, Any]
    """Seconds per step: compute, exposed TP/PP/DP/CP/EP communication, bubble, optimizer."""
    training: dict[str, Any]
    """``tokens``, ``days``, ``gpu_hours``, ``goodput``, ``interruptions``."""
    power: dict[str, Any]
    """``it_mw``, ``facility_mw``, ``energy_mwh``."""
    cost: dict[str, Any]
    """``usd``, ``usd_per_gpu_hour`` and its parts."""
    uncertainty: dict[str, Any]
    """P10/P50/P90 where computed."""
    fabric: dict[str, Any]
    peak_eflops: dict[str, Any]
    scale_assumptions: list[dict[str, Any]]
    why: str
    """Why the search's best layout beat the runner-up."""


def check_plan(doc: Any, *, source: str = "plan") -> Plan:
    """A parsed Plan document, checked, as a :class:`Plan` (the same object, unchanged): the
    schema string, then the shape against the published schema
    (``exabench/documents/schemas/plan.schema.json``); a problem is one line naming ``source``,
    the JSON path and what was expected."""
    check_versioned(doc, source=source, kind="Plan", schema=SCHEMA, required=REQUIRED_FIELDS)
    validate(doc, "plan", source=source)
    return doc


def load_plan(path: str | os.PathLike[str]) -> Plan:
    """Read and check one Plan file; any problem is a one-line :class:`UserError` naming it."""
    return check_plan(read_json(Path(path)), source=str(path))


def plan_to_json(plan: Plan, *, indent: int = 2) -> str:
    """The JSON text of a Plan as ``exabench plan --format json`` prints it (``indent=1``:
    as ``exabench run`` writes it)."""
    return json.dumps(plan, indent=indent, default=str)
