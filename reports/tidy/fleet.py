"""Fleet summaries as tidy tables: one row per figure, per GPU and figure, per flagged GPU.

The statistics (median, spread, outliers) are the summary's own, as rank 0 computed them
(:func:`exabench.analysis.fleet.summarize_fleet`); only each GPU's position needs the per-GPU
values read back from the rank Runs. A GPU's position is its value relative to the figure's
fleet median, ``100 (x / median - 1)`` %, so figures of different units share one axis; its
z is the same modified z-score (:func:`exabench.analysis.fleet.robust_z`) over the GPUs the
report could read.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd

from exabench.analysis.fleet import robust_z
from exabench.reports import fmt
from exabench.reports.inputs.documents import FleetDocument

UNITS = {
    "tflops": "TFLOP/s",
    "gbps": "GB/s",
    "busbw_gbps": "GB/s busbw",
    "algbw_gbps": "GB/s algbw",
    "rank_busbw_gbps": "GB/s busbw/rank",
}
FIGURE_KEY = re.compile(r"^(?P<suite>[^/]*)/(?P<name>.*)\[(?P<params>.*)\]:(?P<metric>\w+)$")
STATUSES = ("within the fleet", "fast outlier", "slow outlier")


def fleet_id(document: FleetDocument) -> str:
    """The fleet folder's name (``fleet_<UTC>``), the id every figure of it is cited by."""
    return (
        Path(str(document.doc.get("fleet") or Path(document.source).parent)).name or document.source
    )


def unit(figure: str) -> str:
    match = FIGURE_KEY.match(figure)
    return UNITS.get(match["metric"], match["metric"]) if match else ""


def figure_label(figure: str) -> str:
    """``suite/name[k=v,...]:metric`` as a reader wants it:
    ``gemm_bf16 8192×8192×8192 · TFLOP/s``."""
    match = FIGURE_KEY.match(figure)
    if not match:
        return figure
    params = dict(p.split("=", 1) for p in match["params"].split(",") if "=" in p)
    words = []
    if all(k in params for k in "mnk"):
        words.append(f"{params.pop('m')}×{params.pop('n')}×{params.pop('k')}")
    if "bytes" in params and params["bytes"].isdigit():
        words.append(fmt.nbytes(int(params.pop("bytes"))))
    if params.get("backend") == "torch":
        del params["backend"]  # the default; another backend (cupy) stays in the label
    for key in ("kernel", "dtype"):  # already in the name: gemm_bf16, triad
        if params.get(key) and params[key] in match["name"]:
            del params[key]
    inplace = params.pop("inplace", None)
    words += [v if k == "dtype" else f"{k}={v}" for k, v in params.items()]
    words += ["in-place"] if inplace == "True" else []
    return f"{match['name']} {' '.join(words)} · {unit(figure)}".replace("  ", " ")


def summary_frame(fleets: list[FleetDocument]) -> pd.DataFrame:
    """One row per fleet and figure: the summary's statistics and its outlier counts."""
    rows = []
    for document in fleets:
        for fig in document.doc["figures"]:
            directions = [o.get("direction") for o in fig["outliers"]]
            rows.append({
                "fleet": fleet_id(document),
                "figure": fig["figure"],
                "label": figure_label(fig["figure"]),
                "unit": unit(fig["figure"]),
                "n": fig["n"],
                "median": fig["median"],
                "min": fig["min"],
                "max": fig["max"],
                "spread_pct": fig.get("spread_pct"),
                "slow": directions.count("slow"),
                "fast": directions.count("fast"),
            })
    return pd.DataFrame(rows)


def _outliers(document: FleetDocument) -> dict[tuple[str, int], dict[str, Any]]:
    return {
        (fig["figure"], out["rank"]): out
        for fig in document.doc["figures"]
        for out in fig["outliers"]
    }


def gpu_frame(fleets: list[FleetDocument]) -> pd.DataFrame:
    """One row per GPU and figure: value, ``rel_pct`` from the fleet median, z, status. A
    flagged GPU whose Run was not found still has a row, from the summary's outlier record."""
    rows = []
    for document in fleets:
        outliers, fid = _outliers(document), fleet_id(document)
        hosts = {
            g["rank"]: g.get("host") for g in [*(document.doc.get("ranks") or []), *document.gpus]
        }
        for fig in document.doc["figures"]:
            key, median = fig["figure"], fig["median"]
            held = [(g["rank"], g["figures"][key]) for g in document.gpus if key in g["figures"]]
            zs = dict(zip((r for r, _ in held), robust_z(v for _, v in held), strict=True))
            values = dict(held)
            for (figure, rank), out in outliers.items():
                if figure == key and rank not in values:
                    values[rank], zs[rank] = out["value"], out["z"]
            for rank, value in sorted(values.items()):
                out = outliers.get((key, rank))
                status = f"{out.get('direction', 'slow')} outlier" if out else STATUSES[0]
                rows.append({
                    "fleet": fid,
                    "figure": key,
                    "label": figure_label(key),
                    "unit": unit(key),
                    "rank": rank,
                    "host": str(hosts.get(rank) or "?"),
                    "value": value,
                    "rel_pct": 100 * (value / median - 1) if median else 0.0,
                    "z": out["z"] if out else zs[rank],
                    "status": status,
                })
    columns = [
        "fleet",
        "figure",
        "label",
        "unit",
        "rank",
        "host",
        "value",
        "rel_pct",
        "z",
        "status",
    ]
    return pd.DataFrame(rows, columns=columns)


def flagged_frame(fleets: list[FleetDocument]) -> pd.DataFrame:
    """One row per slow outlier (GPU and figure), worst first within each fleet."""
    rows = []
    for document in fleets:
        ranks = {g["rank"]: g for g in document.doc.get("ranks") or []}
        for fig in document.doc["figures"]:
            for out in fig["outliers"]:
                if out.get("direction", "slow") != "slow":
                    continue
                rows.append({
                    "fleet": fleet_id(document),
                    "rank": out["rank"],
                    "host": str(out.get("host") or "?"),
                    "local_rank": ranks.get(out["rank"], {}).get("local_rank"),
                    "uuid": ranks.get(out["rank"], {}).get("uuid"),
                    "figure": fig["figure"],
                    "label": figure_label(fig["figure"]),
                    "unit": unit(fig["figure"]),
                    "value": out["value"],
                    "below_pct": -100 * out["rel_dev"],
                    "z": out["z"],
                })
    frame = pd.DataFrame(
        rows,
        columns=[
            "fleet",
            "rank",
            "host",
            "local_rank",
            "uuid",
            "figure",
            "label",
            "unit",
            "value",
            "below_pct",
            "z",
        ],
    )
    return frame.sort_values(["fleet", "z", "rank"], kind="stable").reset_index(drop=True)
