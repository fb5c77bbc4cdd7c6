"""The tables of a report, as formatted text cells shared by the HTML and the Markdown.

Headline results (Plans, best measurements, Runs, comparison verdicts), the assumptions
behind the Plans with their kind (measured / published with its source / assumed), and the
environment of the Runs, one row per hardware-and-software fingerprint. Cells are plain text:
escaping is the renderer's job.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from exabench.reports import fmt
from exabench.reports.inputs.documents import Document, Inputs
from exabench.reports.tidy import plans as tp
from exabench.reports.tidy import runs as tr

KINDS = ("measured", "published", "assumed")


@dataclass(kw_only=True, frozen=True)
class Table:
    id: str
    title: str
    columns: list[str]
    rows: list[list[str]]
    note: str = ""
    numeric: list[bool] = field(default_factory=list)
    """Per column: right-align it (numbers)."""


def _table(
    table_id: str,
    title: str,
    columns: list[tuple[str, bool]],
    rows: list[list[str]],
    note: str = "",
) -> Table:
    return Table(id=table_id, title=title, columns=[c for c, _ in columns], rows=rows, note=note,
                 numeric=[n for _, n in columns])


def plans_table(plans: list[Document]) -> Table | None:
    frame = tp.plans_frame(plans)
    if frame.empty:
        return None
    rows = []
    for r in frame.to_dict("records"):
        # `is`, not a dict lookup: a hand-edited Plan may hold a list there (unhashable)
        fits = "fits" if r["fits"] is True else "DOES NOT FIT" if r["fits"] is False else ""
        rows.append([
            r["label"],
            r["layout"],
            fmt.duration(r["step_time_s"]),
            fmt.num(r["tokens_per_s_per_gpu"], "tok/s"),
            fmt.pct(r["mfu"]),
            f"{fmt.num(r['gib_per_gpu'], 'GiB')} {fits}".strip(),
            fmt.num(r["days"], "days"),
            fmt.count(r["gpu_hours"]),
            fmt.num(r["facility_mw"], "MW"),
            fmt.usd(r["usd"]),
            fmt.usd(r["usd_per_mtok"]),
        ])
    columns = [
        ("Plan", False),
        ("layout", False),
        ("step time", True),
        ("throughput / GPU", True),
        ("MFU", True),
        ("memory / GPU", True),
        ("time to train", True),
        ("GPU-hours", True),
        ("facility power", True),
        ("cost", True),
        ("$ / M tokens", True),
    ]
    stated = {
        str(((d.doc.get("inputs") or {}).get("conventions") or {}).get("mfu") or "") for d in plans
    } - {""}
    note = (
        " ".join(sorted(stated))
        if stated
        else (
            "MFU counts model FLOPs only (6 per parameter per token plus attention, PaLM appendix"
            " B) at the hardware's dense peak for the precision used."
        )
    )
    return _table("plans", "Plans", columns, rows, note)


def best_table(runs: list[Document]) -> Table | None:
    """The best median each Run set reached, per precision, kernel and collective."""
    rows: list[list[str]] = []
    gemm = tr.gemm_frame(runs)
    if not gemm.empty:
        for (device, dtype), group in gemm.groupby(["device", "dtype"], sort=True):
            best = group.loc[group["tflops"].idxmax()]
            rows.append([
                "GEMM",
                f"{dtype} · {device}",
                fmt.num(best["tflops"], "TFLOP/s"),
                fmt.num(best["pct_of_peak"], "%"),
                f"{int(best['m'])}×{int(best['n'])}×{int(best['k'])}",
            ])
    memory = tr.memory_frame(runs)
    if not memory.empty:
        for (device, series), group in memory.groupby(["device", "series"], sort=True):
            # A STREAM kernel's headline is its largest array: smaller ones can stay in the cache
            # and beat the memory's own bandwidth (over 100 % of the HBM peak on a GPU).
            if group["kernel"].iloc[0] not in tr.LINK_KERNELS:
                group = group[group["bytes"] == group["bytes"].max()]
            best = group.loc[group["gbps"].idxmax()]
            rows.append(["memory", f"{series} · {device}", fmt.num(best["gbps"], "GB/s"),
                         fmt.num(best["pct_of_peak"], "%"), fmt.nbytes(best["bytes"])])
    coll = tr.collectives_frame(runs)
    if not coll.empty:
        for series, group in coll.groupby("series", sort=True):
            best = group.loc[group["busbw_gbps"].idxmax()]
            wrong = f" ({int(group['wrong'].sum())} wrong)" if group["wrong"].sum() else ""
            rows.append([
                "collectives",
                series + wrong,
                fmt.num(best["busbw_gbps"], "GB/s busbw"),
                fmt.MISSING,
                fmt.nbytes(best["bytes"]),
            ])
    if not rows:
        return None
    columns = [
        ("suite", False),
        ("what", False),
        ("best median", True),
        ("of peak", True),
        ("at size", True),
    ]
    return _table(
        "best",
        "Best measured results",
        columns,
        rows,
        "Best median over sizes (over Runs too, when several are given); memory kernels at their"
        " largest array, whose data can't stay in the cache (every size is in the chart); peaks are"
        " datasheet dense peaks.",
    )


def runs_table(runs: list[Document]) -> Table | None:
    if not runs:
        return None
    rows = []
    for document in runs:
        doc = document.doc
        counts = tr.status_counts([document])
        throttled = sum(
            1 for r in doc.get("results") or [] if (r.get("telemetry") or {}).get("throttled")
        )
        rows.append([
            tr.run_label(doc),
            tr.device_label(doc),
            str(doc.get("created", "")),
            ", ".join(sorted({str(r.get("suite")) for r in doc.get("results") or []})),
            str(counts["ok"]),
            str(counts["failed"]),
            str(counts["skipped"]),
            str(throttled),
        ])
    columns = [
        ("Run", False),
        ("device", False),
        ("created (UTC)", False),
        ("suites", False),
        ("ok", True),
        ("failed", True),
        ("skipped", True),
        ("throttled", True),
    ]
    return _table("runs", "Runs", columns, rows)


def floors_table(runs: list[Document]) -> Table | None:
    """The acceptance floors each Run was checked against (``bench --floor``), one row each."""
    rows = []
    for document in runs:
        verdicts = document.doc.get("floors")
        for v in verdicts if isinstance(verdicts, list) else ():
            if not isinstance(v, dict):
                continue
            rows.append([
                tr.run_label(document.doc),
                str(v.get("name")),
                str(v.get("metric") or fmt.MISSING),
                fmt.sig(v.get("min")),
                fmt.sig(v.get("best")),
                "met" if v.get("ok") else ("not measured" if v.get("best") is None else "MISSED"),
            ])
    if not rows:
        return None
    columns = [
        ("Run", False),
        ("result", False),
        ("metric", False),
        ("floor (given)", True),
        ("best (measured)", True),
        ("verdict", False),
    ]
    return _table(
        "floors",
        "Acceptance floors",
        columns,
        rows,
        "bench --floor NAME[:METRIC]=MIN: the best ok result of that name must reach the floor; "
        "a floor nothing measured is missed.",
    )


def comparisons_table(comparisons: list[Document]) -> Table | None:
    if not comparisons:
        return None
    rows = []
    for document in comparisons:
        verdicts = pd.Series([str(r.get("verdict")) for r in document.doc.get("results") or []])
        rows.append([
            document.source,
            str(document.doc.get("verdict")),
            *(
                str(int((verdicts == v).sum()))
                for v in ("regressed", "improved", "inconclusive", "unchanged")
            ),
        ])
    columns = [("comparison", False), ("verdict", False), ("regressed", True), ("improved", True),
               ("inconclusive", True), ("unchanged", True)]
    return _table("verdicts", "Comparison verdicts", columns, rows)


def _kind(entry: dict[str, Any]) -> str:
    """The declared kind, else one inferred from the source (a Run id means measured)."""
    declared = str(entry.get("kind") or entry.get("type") or "").lower()
    if declared in KINDS:
        return declared
    source = str(entry.get("source") or "").lower()
    if not source or source in ("default", "assumed", "assumption"):
        return "assumed"
    return "measured" if "run" in source or "measured" in source else "published"


def _assumption_entries(plan: dict[str, Any]) -> list[dict[str, Any]]:
    """``inputs.assumptions`` (a list or a map), then the hardware profile's provenance and
    the kind and source of the training, power and cost sections, where the Plan gives them."""
    inputs = plan.get("inputs") or {}
    raw = inputs.get("assumptions")
    entries: list[dict[str, Any]] = []
    if isinstance(raw, dict):
        entries += [
            {"name": k, **(v if isinstance(v, dict) else {"value": v})} for k, v in raw.items()
        ]
    elif isinstance(raw, list):
        entries += [e for e in raw if isinstance(e, dict)]
    hardware = inputs.get("hardware")
    if isinstance(hardware, dict) and hardware.get("name"):
        run_id = hardware.get("run_id")
        entries.append({
            "name": "hardware profile",
            "value": hardware["name"],
            "kind": "measured" if run_id else "published",
            "source": (
                f"Run {run_id}" if run_id else "reference profile (datasheet and published curves)"
            ),
        })
        provenance = hardware.get("provenance")
        for key, prov in (provenance.items() if isinstance(provenance, dict) else ()):
            if isinstance(prov, dict):
                entries.append({"name": f"hardware: {key}", "value": hardware["name"], **prov})
    for section in ("training", "power", "cost"):
        part = plan.get(section)
        if isinstance(part, dict) and (part.get("kind") or part.get("source")):
            entries.append({"name": f"{section} model", "value": None, "kind": part.get("kind"),
                            "source": part.get("source")})
    return entries


def _value(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return fmt.MISSING if value is None else str(value).lower()
    if isinstance(value, (int, float)):
        return fmt.sig(value, 4)
    if isinstance(value, dict):
        return ", ".join(f"{k}={_value(v)}" for k, v in value.items())
    return str(value)


def assumptions_table(plans: list[Document]) -> Table | None:
    """Every assumption of the Plans, identical ones across Plans merged into one row."""
    merged: dict[tuple[str, ...], list[str]] = {}
    for document in plans:
        label = tp.plan_label(document.doc)
        for entry in _assumption_entries(document.doc):
            unit = f" {entry['unit']}" if entry.get("unit") else ""
            key = (
                str(entry.get("name", entry.get("id", "?"))),
                _value(entry.get("value")) + unit,
                _kind(entry),
                str(entry.get("source") or ""),
            )
            merged.setdefault(key, []).append(label)
    if not merged:
        return None
    rank = {k: i for i, k in enumerate(KINDS)}
    rows = [
        [*key[:3], key[3] or fmt.MISSING, "all" if len(labels) == len(plans) else "; ".join(labels)]
        for key, labels in sorted(merged.items(), key=lambda kv: (rank[kv[0][2]], kv[0][0]))
    ]
    columns = [
        ("assumption", False),
        ("value", True),
        ("kind", False),
        ("source", False),
        ("Plans", False),
    ]
    return _table(
        "assumptions",
        "Assumptions",
        columns,
        rows,
        "measured: from a Run (named); published: a datasheet or paper (cited); assumed: a"
        " default.",
    )


def environment_table(runs: list[Document]) -> Table | None:
    groups: dict[str, list[dict[str, Any]]] = {}
    for document in runs:
        env = document.doc.get("environment") or {}
        groups.setdefault(str(env.get("fingerprint") or "unknown"), []).append(document.doc)
    if not groups:
        return None
    rows = []
    for fingerprint, docs in groups.items():
        env = docs[0].get("environment") or {}
        gpu, host, software = env.get("gpu") or {}, env.get("host") or {}, env.get("software") or {}
        count = gpu.get("count") or 0
        gpus = f"{count} × {tr.device_label(docs[0])}" if count else "none"
        hosts = sorted(
            {str((d.get("environment") or {}).get("host", {}).get("hostname", "?")) for d in docs}
        )
        rows.append([
            fingerprint,
            str(len(docs)),
            ", ".join(hosts[:5]) + (" …" if len(hosts) > 5 else ""),
            gpus,
            str(gpu.get("driver") or fmt.MISSING),
            str(gpu.get("cuda_runtime") or fmt.MISSING),
            str(gpu.get("nccl") or fmt.MISSING),
            str(software.get("torch") or fmt.MISSING),
            str(host.get("cpu_model") or fmt.MISSING),
            str(docs[0].get("exabench_version") or fmt.MISSING),
            str(docs[0].get("commit") or fmt.MISSING)[:12],
        ])
    columns = [
        ("fingerprint", False),
        ("Runs", True),
        ("hosts", False),
        ("GPUs", False),
        ("driver", False),
        ("CUDA", False),
        ("NCCL", False),
        ("torch", False),
        ("CPU", False),
        ("exabench", False),
        ("commit", False),
    ]
    return _table("environment", "Environment", columns, rows,
                  "One row per fingerprint: a stable hash of the hardware and software identity.")


def headline_tables(inputs: Inputs) -> list[Table]:
    found = [
        comparisons_table(inputs.comparisons),
        plans_table(inputs.plans),
        best_table(inputs.runs),
        floors_table(inputs.runs),
        runs_table(inputs.runs),
    ]
    return [t for t in found if t is not None]


def appendix_tables(inputs: Inputs) -> list[Table]:
    found = [assumptions_table(inputs.plans), environment_table(inputs.runs)]
    return [t for t in found if t is not None]
