"""Fleet summaries as report inputs: check ``fleet.json`` and read each GPU's figures.

``exabench bench all`` under torchrun/srun (:mod:`exabench.bench.fleet`) writes, in
``fleet_<UTC>/``, one Run per rank (``rank<NNNNN>/<run>.json``), the collectives Run
(``collectives.json``) and rank 0's summary ``fleet.json`` (schema ``exabench.fleet/1``):
per figure the median, MAD, min, max, spread and the outliers, and the flagged GPUs and nodes
(:func:`exabench.analysis.fleet.summarize_fleet`). The summary holds no per-GPU value of a GPU
that was not flagged, so the report reads them back from the rank Runs it names, with the same
:func:`~exabench.analysis.fleet.figures_from_run` and :func:`~exabench.analysis.fleet.link_figures`
that produced the summary. Run paths are looked up beside ``fleet.json`` first (the folder may
have been copied or moved since), then as written.
"""

from __future__ import annotations

import math
from numbers import Real
from pathlib import Path
from typing import Any

from exabench.analysis.fleet import figures_from_run, link_figures
from exabench.documents import FLEET_SCHEMA, check_versioned
from exabench.documents.run import load_run
from exabench.errors import UserError

"""As written by ``exabench bench all`` under a launcher (:mod:`exabench.commands._fleet`)."""
FLEET_PREFIX = FLEET_SCHEMA.rsplit("/", 1)[0] + "/"
REQUIRED = (
    "schema",
    "gpus",
    "nodes",
    "threshold_z",
    "min_rel_dev",
    "min_gpus",
    "figures",
    "flagged_gpus",
)
FIGURE_NUMBERS = ("median", "min", "max")
OUTLIER_NUMBERS = ("value", "z", "rel_dev")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _is(value: Any, kind: type | tuple[type, ...]) -> bool:
    return not isinstance(value, bool) and isinstance(value, kind)


def _need(source: str, where: str, value: Any, kind: type | tuple[type, ...], what: str) -> None:
    if not _is(value, kind) or (kind is Real and not math.isfinite(value)):
        raise UserError(f"{source}: fleet summary {where} must be {what}, not {_short(value)}")


def check_fleet(doc: Any, *, source: str = "fleet") -> dict[str, Any]:
    """Validate the shape of a parsed fleet summary; returns it. Every problem is a one-line
    :class:`UserError` naming ``source`` and the field."""
    check_versioned(
        doc, source=source, kind="fleet summary", schema=FLEET_SCHEMA, required=REQUIRED
    )
    for key in ("gpus", "nodes", "min_gpus"):
        _need(source, repr(key), doc[key], int, "a whole number")
    for key in ("threshold_z", "min_rel_dev"):
        _need(source, repr(key), doc[key], Real, "a finite number")
    for key in (
        "figures",
        "flagged_gpus",
        *(k for k in ("ranks", "flagged_nodes", "errors") if k in doc),
    ):
        _need(source, repr(key), doc[key], list, "a list")
    for i, fig in enumerate(doc["figures"]):
        where = f"figures[{i}]"
        _need(source, where, fig, dict, "an object")
        _need(source, f"{where}.figure", fig.get("figure"), str, "a figure name")
        _need(source, f"{where}.n", fig.get("n"), int, "a whole number")
        for key in FIGURE_NUMBERS:
            _need(source, f"{where}.{key}", fig.get(key), Real, "a finite number")
        if fig.get("spread_pct") is not None:
            _need(source, f"{where}.spread_pct", fig["spread_pct"], Real, "a finite number or null")
        _need(source, f"{where}.outliers", fig.get("outliers"), list, "a list")
        if "values" in fig:
            _need(source, f"{where}.values", fig["values"], list, "a list of [rank, value]")
            for j, pair in enumerate(fig["values"]):
                ok = (
                    isinstance(pair, list)
                    and len(pair) == 2
                    and _is(pair[0], int)
                    and _is(pair[1], Real)
                    and math.isfinite(pair[1])
                )
                if not ok:
                    raise UserError(
                        f"{source}: fleet summary {where}.values[{j}] must be a [rank, finite"
                        f" value] pair, not {_short(pair)}"
                    )
        for j, out in enumerate(fig["outliers"]):
            _need(source, f"{where}.outliers[{j}]", out, dict, "an object")
            _need(source, f"{where}.outliers[{j}].rank", out.get("rank"), int, "a rank number")
            for key in OUTLIER_NUMBERS:
                _need(source, f"{where}.outliers[{j}].{key}", out.get(key), Real, "a finite number")
    for i, gpu in enumerate(doc["flagged_gpus"]):
        _need(source, f"flagged_gpus[{i}]", gpu, dict, "an object")
        _need(source, f"flagged_gpus[{i}].rank", gpu.get("rank"), int, "a rank number")
    for i, rank in enumerate(doc.get("ranks") or []):
        _need(source, f"ranks[{i}]", rank, dict, "an object")
        _need(source, f"ranks[{i}].rank", rank.get("rank"), int, "a rank number")
    for i, node in enumerate(doc.get("flagged_nodes") or []):
        _need(source, f"flagged_nodes[{i}]", node, dict, "an object")
        _need(source, f"flagged_nodes[{i}].host", node.get("host"), str, "a host name")
    for i, err in enumerate(doc.get("errors") or []):
        _need(source, f"errors[{i}]", err, dict, "an object")
    if "runs" in doc:
        _need(source, "'runs'", doc["runs"], dict, "an object (rank -> Run path)")
    return doc


def _find(fleet_dir: Path, stored: Any, keep_parts: int) -> Path | None:
    """The file a stored path names: its last ``keep_parts`` parts beside ``fleet.json``
    first, then the path as written (absolute, or relative to where the report runs)."""
    if not isinstance(stored, str) or not stored:
        return None
    written = Path(stored)
    for candidate in (fleet_dir.joinpath(*written.parts[-keep_parts:]), written):
        if candidate.is_file():
            return candidate
    return None


def _from_summary(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Each GPU's figures from the summary's own per-figure ``values`` (``bench`` writes them):
    no rank Run needs reading, which matters at 100k GPUs."""
    about = {r["rank"]: r for r in doc.get("ranks") or []}
    gpus: dict[int, dict[str, Any]] = {}
    for fig in doc["figures"]:
        for rank, value in fig["values"]:
            record = about.get(rank, {})
            gpu = gpus.setdefault(rank, {"rank": rank, "host": record.get("host"),
                                         "local_rank": record.get("local_rank"), "figures": {}})
            gpu["figures"][fig["figure"]] = float(value)
    return [gpus[r] for r in sorted(gpus)]


def read_gpus(doc: dict[str, Any], path: Path) -> tuple[list[dict[str, Any]], list[int], list[str]]:
    """Each GPU's figures from the Runs a checked fleet summary names.

    The summary's own per-figure ``values`` are used when it has them (no Run is read then).
    Returns ``(gpus, missing, runs)``: one record per GPU whose Run was found (``rank``,
    ``host``, ``local_rank``, ``figures``: figure key -> value), the ranks whose Run was not
    (a failed rank, or a summary copied without its folder), and the Run files read. A Run
    that is found but malformed stops the report (:func:`~exabench.documents.run.load_run`)."""
    if doc["figures"] and all("values" in fig for fig in doc["figures"]):
        return _from_summary(doc), [], []
    fleet_dir = path.parent
    stored_runs = doc.get("runs") or {}
    ranks = doc.get("ranks") or [
        {"rank": int(r), "run": p} for r, p in stored_runs.items() if str(r).isdigit()
    ]
    gpus, missing, read = [], [], []
    for record in ranks:
        stored = record.get("run") or stored_runs.get(str(record["rank"]))
        found = _find(fleet_dir, stored, keep_parts=2)  # rank<NNNNN>/<run>.json
        if found is None:
            missing.append(record["rank"])
            continue
        gpus.append({
            "rank": record["rank"],
            "host": record.get("host"),
            "local_rank": record.get("local_rank"),
            "figures": figures_from_run(load_run(found)),
        })
        read.append(str(found))
    collectives = _find(fleet_dir, doc.get("collectives_run"), keep_parts=1)
    if collectives is not None and gpus:
        links = link_figures(load_run(collectives))
        for gpu in gpus:
            gpu["figures"].update(links.get(gpu["rank"], {}))
        read.append(str(collectives))
    return gpus, sorted(missing), read
