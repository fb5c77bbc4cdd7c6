"""Charts of Plans and comparisons: scaling, time and cost, step breakdown, uncertainty,
sensitivity, and run-against-run ratios.

MFU is model FLOPs only (6 per parameter per token plus attention, PaLM appendix B) at the
hardware's dense peak for the precision used (docs/planner.md, "MFU").
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from exabench.reports.charts.style import WIDTH, Figure, figure, log_x, series_color, y_auto

MAX_BARS = 40
"""Rows a bar chart shows before it keeps only the most telling ones."""


def _sized(plans: pd.DataFrame) -> pd.DataFrame:
    """Plans with a GPU count, one series per model and hardware, when at least two sizes exist."""
    data = plans.dropna(subset=["gpus"]).copy()
    if data.empty or data["gpus"].nunique() < 2:
        return pd.DataFrame()
    data["series"] = data["model"] + (" · " + data["hardware"]).where(data["hardware"] != "", "")
    return data.sort_values("gpus")


def scaling(plans: pd.DataFrame) -> Figure | None:
    data = _sized(plans)
    if data.empty:
        return None
    data["mfu_pct"] = 100 * data["mfu"]
    color = alt.Color("series:N", title="model", scale=series_color(data["series"].nunique()))
    x = log_x("gpus", "GPUs (log)")
    panels = []
    for field, title in (("tokens_per_s", "cluster throughput (tokens/s)"), ("mfu_pct", "MFU (%)"),
                         ("usd_per_mtok", "cost ($ per million tokens)")):
        if data[field].notna().any():
            panels.append(
                alt.Chart(data)
                .mark_line(point=True)
                .encode(
                    x=x,
                    y=y_auto(f"{field}:Q", title, data[field]),
                    color=color,
                    tooltip=[
                        "label:N",
                        alt.Tooltip("gpus:Q", format=",.0f"),
                        alt.Tooltip(f"{field}:Q", format=",.3~r"),
                    ],
                )
                .properties(width=WIDTH // 2 - 20, height=220)
            )
    if not panels:
        return None
    caption = (
        f"Plans from {data['gpus'].min():,.0f} to {data['gpus'].max():,.0f} GPUs; watch MFU fall as"
        " communication and bubbles grow, and where the cost per token turns up."
    )
    return figure(
        "scaling",
        "Scaling: throughput, MFU and cost per token against cluster size",
        caption,
        alt.hconcat(*panels).resolve_scale(color="shared"),
    )


def time_and_cost(plans: pd.DataFrame, uncertainty: pd.DataFrame) -> Figure | None:
    data = _sized(plans)
    if data.empty or data[["days", "usd"]].isna().all().all():
        return None
    color = alt.Color("series:N", title="model", scale=series_color(data["series"].nunique()))
    x = log_x("gpus", "GPUs (log)")
    panels = []
    for field, title in (("days", "time to train (days)"), ("usd", "training cost ($)")):
        if not data[field].notna().any():
            continue
        layers = []
        band = uncertainty[uncertainty["metric"] == field] if not uncertainty.empty else uncertainty
        if len(band):
            band = band.merge(data[["label", "series"]], on="label")
        values = pd.concat([data[field], *([band["p10"], band["p90"]] if len(band) else [])])
        if len(band):
            layers.append(alt.Chart(band).mark_area(opacity=0.2).encode(
                x=x, y=y_auto("p10:Q", title, values), y2="p90:Q", color=color))
        layers.insert(0, alt.Chart(data).mark_line(point=True).encode(
            x=x, y=y_auto(f"{field}:Q", title, values), color=color,
            tooltip=["label:N", alt.Tooltip(f"{field}:Q", format=",.3~r")]))
        panels.append(alt.layer(*layers).properties(width=WIDTH // 2 + 20, height=240))
    if not panels:
        return None
    band_note = (
        "; bands are P10–P90"
        if not uncertainty.empty and uncertainty["metric"].isin(["days", "usd"]).any()
        else ""
    )
    caption = (
        f"Days and dollars to train against cluster size{band_note}; more GPUs buy time at rising"
        " cost per token: find the size where days stop falling fast."
    )
    return figure("time-and-cost", "Time to train and cost against cluster size", caption,
                  alt.hconcat(*panels).resolve_scale(color="shared"))


def breakdown(frame: pd.DataFrame) -> Figure | None:
    if frame.empty:
        return None
    labels = list(dict.fromkeys(frame["label"]))[:MAX_BARS]
    data = frame[frame["label"].isin(labels)]
    order = data.groupby("part")["seconds"].sum().sort_values(ascending=False).index.tolist()
    steps = data.groupby("label")["seconds"].sum()
    # Plans of very different sizes: shares, or the small-step Plans' bars would vanish.
    shares = bool(steps.max() > 3 * steps.min())
    x = (
        alt.X(
            "seconds:Q",
            title="share of the step time (%)",
            stack="normalize",
            axis=alt.Axis(format="%"),
        )
        if shares
        else alt.X("seconds:Q", title="time per step (s)", stack="zero")
    )
    chart = alt.Chart(data).mark_bar().encode(
        y=alt.Y("label:N", title=None, sort=labels),
        x=x,
        color=alt.Color("part:N", title="part", sort=order, scale=series_color(len(order))),
        order=alt.Order("part_rank:Q"),
        tooltip=["label:N", "part:N", alt.Tooltip("seconds:Q", format=",.3~r")],
    ).transform_calculate(part_rank=f"indexof({order!r}, datum.part)").properties(
        width=WIDTH, height=max(60, 26 * len(labels)))
    caption = (
        (
            "Share of each Plan's step time (step times in the Plans table)"
            if shares
            else "Where each Plan's step time goes"
        )
        + ": compute against exposed communication, pipeline bubble "
        "and optimizer; everything but compute is a target for a better layout."
    )
    return figure("step-breakdown", "Step-time breakdown", caption, chart)


def uncertainty(frame: pd.DataFrame) -> Figure | None:
    if frame.empty:
        return None
    data = frame.copy()
    data["row"] = data["metric"] + " · " + data["label"]
    rows = list(dict.fromkeys(data["row"]))[:MAX_BARS]
    data = data[data["row"].isin(rows) & (data["p50"] != 0)]
    for p in ("p10", "p50", "p90"):
        data[f"{p}_rel"] = data[p] / data["p50"]
    y = alt.Y("row:N", title=None, sort=rows)
    base = alt.Chart(data)
    chart = alt.layer(
        base.mark_rule(strokeWidth=3).encode(
            y=y,
            x=alt.X(
                "p10_rel:Q", title="ratio to the P50 estimate (×)", scale=alt.Scale(zero=False)
            ),
            x2="p90_rel:Q",
        ),
        base.mark_tick(thickness=3, size=16, color="black").encode(
            y=y,
            x="p50_rel:Q",
            tooltip=[
                "row:N",
                alt.Tooltip("p10:Q", format=",.3~r"),
                alt.Tooltip("p50:Q", format=",.3~r"),
                alt.Tooltip("p90:Q", format=",.3~r"),
            ],
        ),
    ).properties(width=WIDTH, height=max(60, 24 * len(rows)))
    caption = (
        "P10–P90 range of each uncertain result relative to its P50 (the tick); a wide or lopsided "
        "range says which answer to quote with care."
    )
    return figure("uncertainty", "Uncertainty: P10–P90 ranges", caption, chart)


def sensitivity(frame: pd.DataFrame) -> Figure | None:
    if frame.empty:
        return None
    n_plans = frame["label"].nunique()
    data = (
        frame.groupby(["input", "metric"])
        .agg(low=("low", "mean"), high=("high", "mean"))
        .reset_index()
    )
    data["swing"] = (data["high"] - data["low"]).abs()
    data = data.sort_values("swing", ascending=False).head(MAX_BARS)
    data["row"] = data["input"] + (" → " + data["metric"]).where(data["metric"] != "", "")
    chart = (
        alt.Chart(data)
        .mark_bar()
        .encode(
            y=alt.Y("row:N", title=None, sort=list(data["row"])),
            x=alt.X(
                "low:Q",
                title="change of the result across the input's range (as the Plan reports it)",
            ),
            x2="high:Q",
            color=alt.Color(
                "metric:N", title="result", scale=series_color(data["metric"].nunique())
            ),
            tooltip=[
                "row:N",
                alt.Tooltip("low:Q", format=",.3~r"),
                alt.Tooltip("high:Q", format=",.3~r"),
            ],
        )
        .properties(width=WIDTH, height=max(60, 24 * len(data)))
    )
    averaged = f" (mean over {n_plans} Plans)" if n_plans > 1 else ""
    caption = (f"Inputs ranked by how much they move the result{averaged}; the top bars are the "
               "assumptions worth measuring before trusting the plan.")
    return figure("sensitivity", "Sensitivity ranking", caption, chart)


def comparison(frame: pd.DataFrame) -> Figure | None:
    if frame.empty:
        return None
    data = frame.copy()
    data["distance"] = (data["ratio"] - 1).abs()
    flagged = data[data["verdict"].isin(["regressed", "improved", "inconclusive"])]
    rest = data.drop(flagged.index).sort_values("distance", ascending=False)
    shown = pd.concat([flagged.sort_values("distance", ascending=False), rest]).head(MAX_BARS)
    shown = shown.sort_values("ratio")
    y = alt.Y("label:N", title=None, sort=list(shown["label"]))
    verdicts = ["regressed", "inconclusive", "unchanged", "improved"]
    color = alt.Color("verdict:N", title="verdict", scale=alt.Scale(
        domain=verdicts, range=["#d62728", "#ff9f0e", "#7f7f7f", "#2ca02c"]))
    base = alt.Chart(shown)
    positive = bool((shown["ci_lo"] > 0).all())
    # A 300x outlier on a linear axis flattens every other interval: go logarithmic past 4x.
    log = positive and shown["ci_hi"].max() / shown["ci_lo"].min() > 4
    scale = alt.Scale(type="log") if log else alt.Scale(zero=False)
    levels = set(shown["ci_level"].dropna()) if "ci_level" in shown else set()
    ci = f"{100 * levels.pop():.0f} % CI" if len(levels) == 1 else "CI"
    chart = alt.layer(
        base.mark_rule(strokeWidth=2).encode(
            y=y,
            x=alt.X(
                "ci_lo:Q", title=f"ratio new / base ({ci})" + (", log" if log else ""), scale=scale
            ),
            x2="ci_hi:Q",
            color=color,
        ),
        base.mark_point(filled=True, size=60).encode(
            y=y,
            x="ratio:Q",
            color=color,
            tooltip=[
                "label:N",
                "verdict:N",
                alt.Tooltip("ratio:Q", format=".4f"),
                alt.Tooltip("ci_lo:Q", format=".4f"),
                alt.Tooltip("ci_hi:Q", format=".4f"),
                alt.Tooltip("p_value:Q", format=".3g"),
            ],
        ),
        alt.Chart(pd.DataFrame({"x": [1.0]}))
        .mark_rule(strokeDash=[4, 4], color="#333")
        .encode(x="x:Q"),
    ).properties(width=WIDTH, height=max(60, 18 * len(shown)))
    hidden = (
        f" ({len(shown)} of {len(data)} shown: every flagged one, then the largest changes)"
        if len(data) > len(shown)
        else ""
    )
    caption = (
        f"Each benchmark's new/base ratio with its confidence interval{hidden}; an interval wholly "
        "off the dashed line at 1 is a real change, colour says which way."
    )
    return figure("comparison", "Run against run", caption, chart)
