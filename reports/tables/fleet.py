"""The "Fleet screening" section of a report: what was screened, the rule, and the tables.

Per fleet summary: the GPUs (ranks) and nodes, the outlier rule as the summary states it
(:mod:`exabench.analysis.fleet`: modified z-score, |z| above the threshold *and* a minimum
shortfall below the median, only for figures held by enough GPUs), where the numbers were
measured, and failed ranks. Tables: every figure's spread, the GPUs flagged slow, the nodes
holding them. Cells are plain text, as in :mod:`exabench.reports.tables.sections`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from exabench.reports import fmt
from exabench.reports.inputs.documents import FleetDocument, Inputs
from exabench.reports.tables.sections import Table, _table
from exabench.reports.tidy import fleet as tf

MAX_ROWS = 200
"""Rows of the flagged-GPU and node tables; the rest stay in fleet.json (a sick 100k-GPU fleet
could flag thousands, and a page of them helps nobody)."""


@dataclass(kw_only=True, frozen=True)
class FleetSection:
    paragraphs: list[str]
    """Plain text, one paragraph each: what was screened, the rule, the provenance."""
    tables: list[Table] = field(default_factory=list)


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'s' * (n != 1)}"


def provenance(document: FleetDocument) -> str:
    """Where a fleet's figures come from: measured, its fleet id, the Runs read."""
    doc, fid = document.doc, tf.fleet_id(document)
    ranks = len(doc.get("ranks") or []) or doc["gpus"]
    found = len(document.gpus)
    coll = " and its collectives Run (collectives.json)" if doc.get("collectives_run") else ""
    read = (f"each GPU's value in the chart was read back from {found:,} of {ranks:,} rank Runs"
            + (f" (not found: ranks {_ranks(document.missing)})" if document.missing else ""))
    if found and not document.run_files:
        read = f"each GPU's value in the chart is the summary's own ({found:,} GPUs)"
    elif not found:
        read = (
            "no rank Run was found beside the summary, so the chart shows each figure's range and"
            " its outliers only"
        )
    return (
        f"Measured: every figure is from fleet {fid} (summary {document.source}): one Run per GPU"
        f" under {fid}/rank*/{coll}; {read}."
    )


def _ranks(ranks: list[int], limit: int = 12) -> str:
    shown = ", ".join(str(r) for r in ranks[:limit])
    return shown + (f" … ({len(ranks) - limit:,} more)" if len(ranks) > limit else "")


def overview(document: FleetDocument) -> list[str]:
    doc = document.doc
    flagged, nodes = doc["flagged_gpus"], doc.get("flagged_nodes") or []
    verdict = (
        f"{_plural(len(flagged), 'GPU')} flagged slow on {_plural(len(nodes), 'node')}"
        if flagged
        else "no GPU flagged slow"
    )
    lines = [
        (
            f"{tf.fleet_id(document)}: {_plural(doc['gpus'], 'GPU')} (one rank each) on"
            f" {_plural(doc['nodes'], 'node')}, {_plural(len(doc['figures']), 'figure')} screened;"
            f" verdict {doc.get('verdict', '?')}: {verdict}."
        ),
        (
            "Outlier rule: a GPU is flagged slow when its"
            f" {doc.get('statistic') or 'modified z-score'} has |z| > {doc['threshold_z']:.3g} and"
            f" it is ≥ {100 * doc['min_rel_dev']:.3g} % below the fleet median, for figures"
            f" measured on ≥ {doc['min_gpus']} GPUs."
        ),
        provenance(document),
    ]
    if doc["gpus"] < doc["min_gpus"]:
        lines.append(
            f"With fewer than {doc['min_gpus']} GPUs no outlier can be flagged: the spread is"
            " reported only."
        )
    for err in (doc.get("errors") or [])[:MAX_ROWS]:
        lines.append(f"FAILED rank {err.get('rank')} ({err.get('host')}): {err.get('error')}")
    return lines


def figures_table(fleets: list[FleetDocument]) -> Table | None:
    frame = tf.summary_frame(fleets)
    if frame.empty:
        return None
    rows = []
    for r in frame.to_dict("records"):
        outliers = ", ".join(f"{r[d]} {d}" for d in ("slow", "fast") if r[d]) or "0"
        rows.append([
            r["label"],
            f"{r['n']:,}",
            fmt.sig(r["median"]),
            fmt.sig(r["min"]),
            fmt.sig(r["max"]),
            r["unit"],
            fmt.num(r["spread_pct"], "%"),
            outliers,
            f"measured · {r['fleet']}",
        ])
    columns = [
        ("figure", False),
        ("n", True),
        ("median", True),
        ("min", True),
        ("max", True),
        ("unit", False),
        ("spread", True),
        ("outliers", True),
        ("source", False),
    ]
    return _table(
        "fleet-figures",
        "Fleet figures",
        columns,
        rows,
        "n: GPUs that measured the figure; spread: (max − min) / median. Every value is measured,"
        " one Run per GPU of the fleet named under source.",
    )


def flagged_table(fleets: list[FleetDocument]) -> Table | None:
    frame = tf.flagged_frame(fleets)
    if frame.empty:
        return None
    rows = [
        [
            str(r["rank"]),
            r["host"],
            fmt.MISSING if r["local_rank"] is None else str(r["local_rank"]),
            r["uuid"] or fmt.MISSING,
            r["label"],
            fmt.num(r["value"], r["unit"]),
            fmt.num(r["below_pct"], "%"),
            fmt.sig(r["z"]),
            f"measured · {r['fleet']}",
        ]
        for r in frame.head(MAX_ROWS).to_dict("records")
    ]
    more = (
        f" Showing {MAX_ROWS} of {len(frame):,} rows; fleet.json holds them all."
        if len(frame) > MAX_ROWS
        else ""
    )
    columns = [
        ("rank", True),
        ("node", False),
        ("local GPU", True),
        ("board UUID", False),
        ("figure", False),
        ("value", True),
        ("below median", True),
        ("z", True),
        ("source", False),
    ]
    return _table(
        "fleet-flagged",
        "GPUs flagged slow",
        columns,
        rows,
        "One row per GPU and figure, most extreme z first; z is the modified z-score. The board"
        " UUID finds the card whatever CUDA_VISIBLE_DEVICES renumbered (nvidia-smi -q -i <UUID>)."
        + more,
    )


def nodes_table(fleets: list[FleetDocument]) -> Table | None:
    rows = [
        [
            node["host"],
            str(node.get("gpus", fmt.MISSING)),
            _ranks(node.get("flagged_ranks") or []),
            f"measured · {tf.fleet_id(d)}",
        ]
        for d in fleets
        for node in d.doc.get("flagged_nodes") or []
    ]
    if not rows:
        return None
    more = f" Showing {MAX_ROWS} of {len(rows):,} nodes." if len(rows) > MAX_ROWS else ""
    return _table(
        "fleet-nodes",
        "Nodes with GPUs flagged slow",
        [("node", False), ("GPUs", True), ("flagged ranks", False), ("source", False)],
        rows[:MAX_ROWS],
        "Several flagged GPUs on one node point at the node (power, cooling, PCIe/NVLink) rather"
        " than at one GPU."
        + more,
    )


def fleet_section(inputs: Inputs) -> FleetSection | None:
    """The section, or None when no fleet summary was given."""
    if not inputs.fleets:
        return None
    paragraphs = [line for document in inputs.fleets for line in overview(document)]
    tables = [
        t
        for t in (
            figures_table(inputs.fleets),
            flagged_table(inputs.fleets),
            nodes_table(inputs.fleets),
        )
        if t
    ]
    return FleetSection(paragraphs=paragraphs, tables=tables)
