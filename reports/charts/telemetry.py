"""The power, clock and throttle timeline of the Runs (NVML samples in the Run's ``telemetry``).

Long or many timelines are binned: at most :data:`BINS` time bins per series, each showing
the mean power, the *lowest* SM clock (a dip is what matters) and whether any sample in the
bin was throttled. Beyond :data:`MAX_SERIES` GPU/Run series, they are pooled into one median
series, since forty overlapping lines show nothing a median does not.
"""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from exabench.reports.charts.style import WIDTH, Figure, figure, series_color

BINS = 300
MAX_SERIES = 8


def binned(frame: pd.DataFrame) -> pd.DataFrame:
    """Series (run and GPU, or pooled) × at most :data:`BINS` time bins."""
    data = frame.copy()
    multi_run = data["run"].nunique() > 1
    data["series"] = (
        (data["run"] + " · GPU " + data["gpu"]) if multi_run else ("GPU " + data["gpu"])
    )
    if data["series"].nunique() > MAX_SERIES:
        data["series"] = f"median of {data['series'].nunique()} series"
    span = float(data["t_s"].max()) or 1.0
    width = span / BINS if len(data) > BINS * data["series"].nunique() else 0.0
    data["t_bin"] = (np.floor(data["t_s"] / width) * width) if width else data["t_s"]
    return (data.groupby(["series", "t_bin"], sort=True)
            .agg(power_w=("power_w", "median"), sm_clock_mhz=("sm_clock_mhz", "min"),
                 throttled=("throttled", "max"))
            .reset_index().rename(columns={"t_bin": "t_s"}))


def timeline(frame: pd.DataFrame) -> Figure | None:
    if frame.empty or frame[["power_w", "sm_clock_mhz"]].isna().all().all():
        return None
    data = binned(frame)
    data["throttled"] = data["throttled"].astype(int)
    color = alt.Color("series:N", title="GPU", scale=series_color(data["series"].nunique()))
    x = alt.X("t_s:Q", title="time since the Run's first sample (s)")
    base = alt.Chart(data).properties(width=WIDTH, height=110)
    panels = []
    if data["power_w"].notna().any():
        panels.append(
            base.mark_line().encode(
                x=x,
                y=alt.Y("power_w:Q", title="power (W)"),
                color=color,
                tooltip=["series:N", "t_s:Q", alt.Tooltip("power_w:Q", format=".0f")],
            )
        )
    if data["sm_clock_mhz"].notna().any():
        panels.append(
            base.mark_line().encode(
                x=x,
                y=alt.Y("sm_clock_mhz:Q", title="SM clock (MHz)", scale=alt.Scale(zero=False)),
                color=color,
                tooltip=["series:N", "t_s:Q", alt.Tooltip("sm_clock_mhz:Q", format=".0f")],
            )
        )
    panels.append(
        base.mark_area(interpolate="step-after", opacity=0.6)
        .encode(
            x=x,
            y=alt.Y(
                "throttled:Q",
                title="throttled",
                scale=alt.Scale(domain=[0, 1]),
                axis=alt.Axis(values=[0, 1], format="d"),
            ),
            color=color,
        )
        .properties(height=50)
    )
    share = 100 * float(frame["throttled"].mean())
    caption = (
        f"Power, SM clock and throttle reasons over the Run (throttled in {share:.1f} % of samples;"
        " idle is not counted); a clock dip while throttled means the numbers measured then are"
        " low."
    )
    return figure("telemetry-timeline", "Power, clock and throttling over time", caption,
                  alt.vconcat(*panels).resolve_scale(x="shared"))
