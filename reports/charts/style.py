"""The conventions every chart of a report shares: the figure, its size and font, log axes, and
the row cap.

Each chart is a :class:`Figure`: an id, a title, a one-line caption (what it shows and what to
look for) and a Vega-Lite spec with its data inline (vl-convert and an offline page resolve no
URLs; vega/vl-convert ``README.md``, Limitations). A chart whose data is absent is not
drawn: the builders return None and :func:`exabench.reports.charts.registry.build_figures`
leaves them out.

Vega-Lite's limits (Altair refuses more than 5,000 rows; resvg takes about 1 s per 1,000
marks) are met by aggregating before charting: every builder caps its rows with
:data:`MAX_POINTS` (medians and ranges across Runs, time bins for telemetry).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import altair as alt
import pandas as pd

MAX_POINTS = 1500
"""Rows one chart may carry; above it the builders aggregate (well under Altair's 5,000)."""
WIDTH, HEIGHT = 560, 300
FONT = "DejaVu Sans, Helvetica, Arial, sans-serif"


@dataclass(kw_only=True, frozen=True)
class Figure:
    id: str
    """File stem of its PNG/SVG and the HTML anchor: lowercase letters, digits and dashes."""
    title: str
    caption: str
    """One line: what the chart shows and what to look for."""
    spec: dict[str, Any]
    """The Vega-Lite spec, data inline."""


def config(chart: alt.TopLevelMixin) -> alt.TopLevelMixin:
    """One fixed look, so PNGs are reproducible and the HTML and exports match."""
    return (chart.configure(font=FONT, background="white")
            .configure_axis(labelFontSize=11, titleFontSize=12, gridColor="#e6e6e6", labelLimit=300)
            .configure_title(fontSize=15, anchor="start")
            .configure_legend(labelFontSize=11, titleFontSize=11, labelLimit=260)
            .configure_view(stroke=None))


def figure(fig_id: str, title: str, caption: str, chart: alt.TopLevelMixin) -> Figure:
    spec = config(chart.properties(title=title)).to_dict()
    return Figure(id=fig_id, title=title, caption=caption, spec=spec)


# Label only the powers of ten of a log axis: Vega labels every minor tick otherwise.
DECADE_LABELS = (
    "abs(log(datum.value) / LN10 - round(log(datum.value) / LN10)) < 1e-6 ? datum.label : ''"
)
# Byte counts in binary units (message and array sizes are powers of two).
BYTE_LABELS = ("datum.value >= 1073741824 ? format(datum.value / 1073741824, '~g') + ' GiB'"
               " : datum.value >= 1048576 ? format(datum.value / 1048576, '~g') + ' MiB'"
               " : datum.value >= 1024 ? format(datum.value / 1024, '~g') + ' KiB'"
               " : format(datum.value, '~g') + ' B'")


def log_axis(base: int = 10, *, as_bytes: bool = False, **kw: Any) -> alt.Axis:
    if as_bytes:
        return alt.Axis(labelExpr=BYTE_LABELS, labelOverlap=True, **kw)
    if base == 10:
        return alt.Axis(labelExpr=DECADE_LABELS, **kw)
    return alt.Axis(format="~s", labelOverlap=True, **kw)


def log_x(field: str, title: str, base: int = 10, *, as_bytes: bool = False) -> alt.X:
    return alt.X(field, type="quantitative", title=title, scale=alt.Scale(type="log", base=base),
                 axis=log_axis(base, as_bytes=as_bytes))


def log_y(field: str, title: str | None = None, **kw: Any) -> alt.Y:
    return alt.Y(
        field,
        type="quantitative",
        title=title,
        scale=alt.Scale(type="log"),
        axis=log_axis(10),
        **kw,
    )


def wide(values: pd.Series) -> bool:
    """Values spanning more than a factor of 20 (fp8 and fp64 on one axis) want a log axis."""
    positive = values[values > 0]
    return bool(len(positive) and positive.max() / positive.min() > 20)


def y_auto(field: str, title: str, values: pd.Series, **kw: Any) -> alt.Y:
    """A log y axis for wide ranges, else a linear one from zero."""
    if wide(values):
        return log_y(field, title, **kw)
    return alt.Y(field, type="quantitative", title=title, scale=alt.Scale(zero=True), **kw)


def series_color(n_series: int) -> alt.Scale:
    return alt.Scale(scheme="tableau10" if n_series <= 10 else "tableau20")


def aggregate(frame: pd.DataFrame, keys: list[str], value: str, lo: str, hi: str) -> pd.DataFrame:
    """One row per ``keys``: the median of ``value`` across Runs, its band the range across
    Runs when several measured the point, else the timing quartiles of the one that did."""
    grouped = frame.groupby(keys, sort=True, dropna=False)
    out = grouped.agg(**{value: (value, "median"), "n_runs": ("run", "nunique"),
                         "_min": (value, "min"), "_max": (value, "max"),
                         lo: (lo, "median"), hi: (hi, "median")}).reset_index()
    several = out["n_runs"] > 1
    out.loc[several, lo] = out.loc[several, "_min"]
    out.loc[several, hi] = out.loc[several, "_max"]
    return out.drop(columns=["_min", "_max"])


def thin(frame: pd.DataFrame, limit: int = MAX_POINTS) -> pd.DataFrame:
    """Every n-th row when a frame still exceeds ``limit`` after aggregation (a last resort)."""
    if len(frame) <= limit:
        return frame
    step = -(-len(frame) // limit)
    return frame.iloc[::step]
