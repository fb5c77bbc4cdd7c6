"""What ``exabench report`` reads: Runs, Plans and comparisons, given as files or folders.

Every input is read and checked before anything is rendered or written, so one bad file stops
the report with a one-line :class:`UserError` naming that file and leaves earlier output as it
was. Kinds are told apart by content, not by file name:

- ``schema = "exabench.run/..."``: a Run (checked by :func:`exabench.documents.run.check_run`);
- ``schema = "exabench.plan/..."``: a Plan (checked by :func:`exabench.documents.plan.check_plan`);
- ``{"layouts": [Plan, ...]}`` (``exabench search --format json``): each layout is a Plan;
- ``{"verdict": ..., "results": [...]}`` (``exabench compare --format json``): a comparison;
- ``schema = "exabench.fleet/..."``: a fleet summary (``fleet.json`` of a torchrun/srun
  ``exabench bench all``), with each GPU's figures read from the rank Runs it names
  (:mod:`exabench.reports.inputs.fleet`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from exabench.documents import read_json
from exabench.documents.plan import PREFIX as PLAN_PREFIX
from exabench.documents.plan import Plan, check_plan
from exabench.documents.run import Run, check_run
from exabench.errors import UserError
from exabench.reports.inputs.fleet import FLEET_PREFIX, check_fleet, read_gpus

COMPARE_REQUIRED = ("verdict", "results")


@dataclass
class Document:
    """One parsed input: its kind, where it came from, and the JSON object itself."""

    kind: str
    """``run``, ``plan``, ``comparison`` or ``fleet``."""
    source: str
    """The file it was read from (with ``#layouts[i]`` for a layout of a search output)."""
    doc: Run | Plan | dict[str, Any]
    """The checked JSON object: a :class:`Run`, a :class:`Plan`, or a comparison or fleet
    summary."""


@dataclass
class FleetDocument(Document):
    """A fleet summary with each GPU's figures, read from the rank Runs it names."""

    gpus: list[dict[str, Any]] = field(default_factory=list)
    """Per GPU: ``rank``, ``host``, ``local_rank``, ``figures`` (figure key -> value)."""
    missing: list[int] = field(default_factory=list)
    """Ranks whose Run was not found (their values are absent from the chart)."""
    run_files: list[str] = field(default_factory=list)
    """The Run files the per-GPU figures were read from."""


@dataclass
class Inputs:
    runs: list[Document] = field(default_factory=list)
    plans: list[Document] = field(default_factory=list)
    comparisons: list[Document] = field(default_factory=list)
    fleets: list[FleetDocument] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.runs) + len(self.plans) + len(self.comparisons) + len(self.fleets)


def check_comparison(doc: dict[str, Any], *, source: str) -> dict[str, Any]:
    """The ``exabench compare --format json`` shape: ``verdict`` and a list of ``results``."""
    if not isinstance(doc.get("results"), list):
        raise UserError(f"{source}: comparison 'results' must be a list")
    for i, row in enumerate(doc["results"]):
        if not isinstance(row, dict) or "ratio" not in row:
            raise UserError(f"{source}: comparison result {i} lacks 'ratio'")
    return doc


def classify(doc: Any, source: str) -> list[Document]:
    """The documents one parsed file holds; a :class:`UserError` when it is none of ours."""
    if isinstance(doc, dict):
        schema = doc.get("schema")
        if isinstance(schema, str) and schema.startswith("exabench.run/"):
            return [Document("run", source, check_run(doc, source=source))]
        if isinstance(schema, str) and schema.startswith(PLAN_PREFIX):
            return [Document("plan", source, check_plan(doc, source=source))]
        if isinstance(schema, str) and schema.startswith(FLEET_PREFIX):
            return [FleetDocument("fleet", source, check_fleet(doc, source=source))]
        if schema is None and isinstance(doc.get("layouts"), list):
            return [
                Document(
                    "plan", f"{source}#layouts[{i}]", check_plan(p, source=f"{source} layout {i}")
                )
                for i, p in enumerate(doc["layouts"])
            ]
        if schema is None and all(k in doc for k in COMPARE_REQUIRED):
            return [Document("comparison", source, check_comparison(doc, source=source))]
        if schema is not None:
            raise UserError(f"{source}: unknown document schema {schema!r}; "
                            "a report reads exabench.run/1, exabench.plan/1 and exabench.fleet/1")
    raise UserError(
        f"{source}: not a Run, Plan or comparison document, nor a fleet summary (expected"
        " exabench.run/1, exabench.plan/1, exabench.fleet/1 or `exabench compare --format json`"
        " output)"
    )


def expand(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Files as given, folders as every ``*.json`` below them (sorted; hidden files skipped,
    since they are the temporary files of an atomic write in progress)."""
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(
                p
                for p in path.rglob("*.json")
                if p.is_file()
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
            if not found:
                raise UserError(f"{path}: folder holds no .json Run or Plan files")
            files += found
        elif path.exists():
            files.append(path)
        else:
            raise UserError(
                f"{path}: no such file or folder; give Run, Plan or fleet summary JSON files, or"
                " folders of them"
            )
    unique = list(dict.fromkeys(files))
    return unique


def load_inputs(paths: Iterable[str | os.PathLike[str]]) -> Inputs:
    """Read and check every input; the first bad one raises before anything is rendered."""
    inputs = Inputs()
    files = expand(paths)
    if not files:
        raise UserError("no inputs: give Run, Plan or fleet summary files, or folders of them")
    for path in files:
        for document in classify(read_json(path), str(path)):
            if isinstance(document, FleetDocument):
                document.gpus, document.missing, document.run_files = read_gpus(document.doc, path)
            {"run": inputs.runs, "plan": inputs.plans, "comparison": inputs.comparisons,
             "fleet": inputs.fleets}[document.kind].append(document)
    return inputs
