"""The fleet screening chart: every GPU's value relative to its figure's fleet median.

One row per figure, one dot per GPU at ``100 (x / median - 1)`` %
(:mod:`exabench.reports.tidy.fleet`), so GEMM, memory and per-rank busbw share one axis and a
slow GPU sits left of the pack. Dots are spread vertically by a fixed function of the rank
(reproducible PNGs, no random jitter).
The grey bar is the figure's min-max range from the summary, so a figure still shows when the
rank Runs were not found.

Thousands of GPUs: above :data:`~exabench.reports.charts.style.MAX_POINTS` dots, the GPUs that are
not outliers are pooled into equal-width bins per figure, each bin one dot sized by its GPU
count (its tooltip lists the first ranks); outliers always stay single dots with rank and host.
"""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from exabench.reports.charts.style import MAX_POINTS, WIDTH, Figure, figure
from exabench.reports.tidy.fleet import STATUSES

COLORS = ("#9aa5b1", "#54a24b", "#e45756")
"""Within the fleet (grey-blue), fast outlier (green), slow outlier (red), as :data:`STATUSES`."""
ROW_STEP = 34
MAX_BINS = 60
"""Bins per figure when GPUs are pooled: enough to show the shape, few enough that the dots,
sized by count and left unjittered, don't overlap into one blob."""
GOLDEN = 0.6180339887498949


def _rows(frame: pd.DataFrame) -> pd.Series:
    """The chart's row name: the figure, prefixed by its fleet when several are drawn."""
    if frame["fleet"].nunique() > 1:
        return frame["fleet"] + " · " + frame["label"]
    return frame["label"]


def pooled(gpus: pd.DataFrame, limit: int = MAX_POINTS) -> pd.DataFrame:
    """One mark per GPU (``gpus`` = 1) while they fit under ``limit``, else outliers as single
    marks and the rest binned per row; ``ranks`` and ``hosts`` name who a mark stands for."""
    data = gpus.assign(gpus=1, ranks=gpus["rank"].astype(str), hosts=gpus["host"])
    if len(data) <= limit:
        return data
    single = data[data["status"] != STATUSES[0]]
    rest = data[data["status"] == STATUSES[0]]
    bins = min(MAX_BINS, max(10, (limit - len(single)) // max(rest["row"].nunique(), 1)))
    pooled_rows = []
    for _, group in rest.groupby("row", sort=True):
        lo, hi = group["rel_pct"].min(), group["rel_pct"].max()
        index = np.minimum(
            ((group["rel_pct"] - lo) / ((hi - lo) or 1) * bins).astype(int), bins - 1
        )
        for _, members in group.groupby(index, sort=True):
            ranks = members["rank"].tolist()
            pooled_rows.append({
                **members.iloc[0].to_dict(),
                "rel_pct": members["rel_pct"].mean(),
                "value": members["value"].mean(),
                "z": members["z"].mean(),
                "gpus": len(members),
                "rank": ranks[0],
                "ranks": ", ".join(map(str, ranks[:8])) + (" …" if len(ranks) > 8 else ""),
                "hosts": ", ".join(sorted(set(members["host"]))[:4]),
            })
    return pd.concat([pd.DataFrame(pooled_rows), single], ignore_index=True)


X_TITLE = "relative to the figure's fleet median (%)"


def _ranges(figures: pd.DataFrame) -> pd.DataFrame:
    """``figures`` with their row name and min-max range in % of the median (0 to 0 when the
    median is 0: an all-zero figure has no relative range)."""
    median = figures["median"].where(figures["median"] != 0)
    return figures.assign(
        row=_rows(figures),
        lo_pct=(100 * (figures["min"] / median - 1)).fillna(0.0),
        hi_pct=(100 * (figures["max"] / median - 1)).fillna(0.0),
    )


def _dots(gpus: pd.DataFrame) -> tuple[pd.DataFrame, bool]:
    """The dots (:func:`pooled`) with their vertical ``jitter``, and whether any pools GPUs.
    Pooled dots stay on the row's centre line, so only single outliers are spread."""
    data = (
        pooled(gpus.assign(row=_rows(gpus)))
        if len(gpus)
        else gpus.assign(row=[], gpus=[], ranks=[], hosts=[])
    )
    spread = ((data["rank"].astype(float) * GOLDEN) % 1.0 - 0.5) * 0.7
    pooled_any = bool(len(data)) and int(data["gpus"].max()) > 1
    data = data.assign(
        jitter=spread.where(data["status"] != STATUSES[0], 0.0) if pooled_any else spread
    )
    return data, pooled_any


def _range_layer(figures: pd.DataFrame, y: alt.Y) -> alt.Chart:
    """Each figure's min-max range from the summary, as a grey bar."""
    return alt.Chart(figures).mark_rule(color="#d6d6d6", strokeWidth=8, strokeCap="round").encode(
        x=alt.X("lo_pct:Q", title=X_TITLE), x2="hi_pct:Q", y=y,
        tooltip=[alt.Tooltip("label:N", title="figure"), alt.Tooltip("n:Q", title="GPUs"),
                 alt.Tooltip("median:Q", format=",.4~r"), "unit:N",
                 alt.Tooltip("spread_pct:Q", title="spread (%)", format=".1f")])


DOT_TOOLTIP = [
    alt.Tooltip("ranks:N", title="rank"),
    alt.Tooltip("hosts:N", title="host"),
    alt.Tooltip("label:N", title="figure"),
    alt.Tooltip("value:Q", format=",.4~r"),
    "unit:N",
    alt.Tooltip("rel_pct:Q", title="vs median (%)", format="+.2f"),
    alt.Tooltip("z:Q", format="+.2f"),
    alt.Tooltip("gpus:Q", title="GPUs"),
]


def _dot_layer(data: pd.DataFrame, x: alt.X, y: alt.Y, pooled_any: bool) -> alt.Chart:
    """One dot per GPU (or per pool of GPUs, sized by their count), coloured by status."""
    size = (
        alt.Size("gpus:Q", title="GPUs per dot", scale=alt.Scale(range=[25, 500], zero=False))
        if pooled_any
        else alt.value(36)
    )
    return (
        alt.Chart(data)
        .mark_circle(opacity=0.75, stroke="white", strokeWidth=0.5)
        .encode(
            x=x,
            y=y,
            yOffset=alt.YOffset("jitter:Q", scale=alt.Scale(domain=[-0.5, 0.5])),
            color=alt.Color(
                "status:N", title="GPU", scale=alt.Scale(domain=list(STATUSES), range=list(COLORS))
            ),
            size=size,
            order=alt.Order("status:N", sort="ascending"),
            tooltip=DOT_TOOLTIP,
        )
    )


def _caption(gpus: pd.DataFrame, data: pd.DataFrame, pooled_any: bool) -> str:
    """What the chart shows, with how many GPUs and values are flagged slow."""
    slow = data[data["status"] == STATUSES[2]] if len(data) else data
    n_gpus = int(gpus["rank"].nunique()) if len(gpus) else 0
    return (
        f"Each measured GPU's value per figure relative to the fleet median ({n_gpus:,} GPUs, red:"
        f" {len(slow)} values of {slow['rank'].nunique() if len(slow) else 0} GPUs flagged slow;"
        " grey bars: min to max). Look for red dots and for one node's GPUs sitting together at"
        " the left"
        + ("; dots pool GPUs that are not outliers" if pooled_any else "")
        + "."
    )


def relative(gpus: pd.DataFrame, figures: pd.DataFrame) -> Figure | None:
    """``gpus``: :func:`~exabench.reports.tidy.fleet.gpu_frame`; ``figures``: its
    ``summary_frame``."""
    if figures.empty:
        return None
    figures = _ranges(figures)
    data, pooled_any = _dots(gpus)
    order = list(dict.fromkeys(figures.sort_values(["fleet", "figure"])["row"]))  # suite by suite
    y = alt.Y("row:N", title=None, sort=order, scale=alt.Scale(domain=order))
    x = alt.X("rel_pct:Q", title=X_TITLE)
    zero = (
        alt.Chart(pd.DataFrame({"rel_pct": [0.0]}))
        .mark_rule(color="#333", strokeDash=[4, 3])
        .encode(x=x)
    )
    chart = alt.layer(_range_layer(figures, y), zero, _dot_layer(data, x, y, pooled_any))
    chart = chart.properties(width=WIDTH, height=alt.Step(ROW_STEP))
    caption = _caption(gpus, data, pooled_any)
    return figure("fleet-relative", "Each GPU against its fleet median", caption, chart)
