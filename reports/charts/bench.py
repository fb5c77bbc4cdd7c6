"""Charts of measured Runs: GEMM throughput, the roofline, memory bandwidth, collectives.

Bands: across several Runs, the range of their medians; within one Run, the timing quartiles
(see :mod:`exabench.reports.tidy.runs`). Datasheet ceilings come from the shipped hardware
profile that matches the Run's GPU name (``exabench.workloads.hardware.match_device``); a
device no profile matches (a CPU) gets ceilings from its own best measurements, and says so.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from exabench.reports.charts.style import (
    HEIGHT,
    WIDTH,
    Figure,
    aggregate,
    figure,
    log_axis,
    log_x,
    log_y,
    series_color,
    thin,
    wide,
)
from exabench.workloads.hardware import match_device


def _profile(device: str):
    """The shipped hardware profile for a device name, or None (CPU, unknown GPU)."""
    return match_device(device)


def _series(frame: pd.DataFrame, base: str) -> pd.Series:
    """``base``, with the device appended when the Runs come from more than one kind of
    device."""
    if frame["device"].nunique() > 1:
        return frame[base].astype(str) + " · " + frame["device"].astype(str)
    return frame[base].astype(str)


def gemm(frame: pd.DataFrame) -> Figure | None:
    if frame.empty:
        return None
    data = aggregate(frame, ["device", "dtype", "size"], "tflops", "tflops_lo", "tflops_hi")
    peaks = frame.groupby(["device", "dtype"])["peak_tflops"].max().reset_index().dropna()
    data["series"], peaks["series"] = _series(data, "dtype"), (
        _series(peaks, "dtype") if len(peaks) else []
    )
    square = bool(((frame["m"] == frame["n"]) & (frame["n"] == frame["k"])).all())
    x_title = "matrix size m = n = k" if square else "size (m·n·k)^(1/3)"
    color = alt.Color("series:N", title="precision", scale=series_color(data["series"].nunique()))
    log = wide(pd.concat([data["tflops_lo"], peaks["peak_tflops"]]))
    scale = alt.Scale(type="log") if log else alt.Scale(zero=True)
    x = log_x("size", x_title, base=2)
    y = alt.Y(
        "tflops:Q",
        title="throughput (TFLOP/s)",
        scale=scale,
        axis=log_axis() if log else alt.Axis(),
    )
    base = alt.Chart(thin(data))
    layers = [
        base.mark_line(point=True).encode(
            x=x,
            y=y,
            color=color,
            tooltip=[
                "series:N",
                alt.Tooltip("size:Q", format=",.0f"),
                alt.Tooltip("tflops:Q", format=",.3~r"),
                alt.Tooltip("n_runs:Q", title="runs"),
            ],
        ),
        base.mark_area(opacity=0.18).encode(
            x=x, y=alt.Y("tflops_lo:Q", scale=scale), y2="tflops_hi:Q", color=color
        ),
    ]
    if len(peaks):
        layers.append(alt.Chart(peaks).mark_rule(strokeDash=[6, 4]).encode(
            y=alt.Y("peak_tflops:Q", scale=scale), color=color,
            tooltip=["series:N", alt.Tooltip("peak_tflops:Q", title="datasheet peak (TFLOP/s)")]))
    peak_note = (
        "dashed lines are the datasheet dense peaks"
        if len(peaks)
        else "no datasheet peak is known for this device"
    )
    caption = (
        f"Median GEMM throughput per precision against matrix size ({peak_note}); look for the size"
        " where each curve flattens and how close the plateau gets to its peak."
    )
    return figure("gemm-throughput", "GEMM throughput against size",
                  caption, alt.layer(*layers).properties(width=WIDTH, height=HEIGHT))


def _ceilings(profile, points: pd.DataFrame, memory_frame: pd.DataFrame,
              device: str) -> tuple[float | None, str, dict[str, float], str]:
    """The roofline's bandwidth (GB/s) and its source, the compute peak per precision
    (TFLOP/s), and a note on where they come from: the datasheet ``profile``, or without one
    the device's best measured GEMM and memory bandwidth."""
    if profile is not None:
        bandwidth = profile.hbm_bandwidth_gbps
        peaks = {d: profile.peak(d) for d in points["dtype"].unique() if profile.peak(d)}
        roof_source = f"ceilings: {profile.name} datasheet (HBM {bandwidth:,.0f} GB/s)"
        return bandwidth, f"{profile.name} datasheet", peaks, roof_source
    own_memory = (
        memory_frame[memory_frame["device"] == device]
        if not memory_frame.empty
        else memory_frame
    )
    measured_bw = own_memory["gbps"].max() if not own_memory.empty else None
    peaks = points.groupby("dtype")["tflops"].max().to_dict()
    roof_source = (
        "no datasheet profile matches this device: ceilings are its best measured GEMM"
        + (" and memory bandwidth" if measured_bw else " (no memory Run, so no bandwidth slope)")
    )
    return measured_bw, "best measured", peaks, roof_source


def _roofs(peaks: dict[str, float], bandwidth: float | None, lo: float, hi: float) -> pd.DataFrame:
    """Each precision's roof from intensity ``lo`` to ``hi``: min(peak, intensity x bandwidth),
    with a corner at the ridge point; flat at the peak when the bandwidth is unknown."""
    roof_rows = []
    for dtype, peak in sorted(peaks.items()):
        xs = [lo, hi]
        if bandwidth:
            ridge = peak * 1e3 / bandwidth  # FLOP/byte where bandwidth·AI meets the compute peak
            xs = sorted({lo, hi, min(max(ridge, lo), hi)})
        for x in xs:
            y = min(peak, x * bandwidth / 1e3) if bandwidth else peak
            roof_rows.append({"dtype": dtype, "intensity": x, "tflops": y})
    return pd.DataFrame(roof_rows)


ROOFLINE_TOOLTIP = [
    "dtype:N",
    alt.Tooltip("size:Q", format=",.0f"),
    alt.Tooltip("intensity:Q", format=",.1f"),
    alt.Tooltip("tflops:Q", format=",.3~r"),
]


def roofline(gemm_frame: pd.DataFrame, memory_frame: pd.DataFrame) -> Figure | None:
    if gemm_frame.empty:
        return None
    # One device per roofline: its ceilings mean nothing for another's points. Prefer a device
    # a datasheet profile matches, else the one with the most points.
    devices = gemm_frame["device"].value_counts().index.tolist()
    device = next((d for d in devices if _profile(d) is not None), devices[0])
    own = gemm_frame[gemm_frame["device"] == device]
    points = aggregate(
        own, ["device", "dtype", "size", "intensity"], "tflops", "tflops_lo", "tflops_hi"
    )
    bandwidth, bw_source, peaks, roof_source = _ceilings(
        _profile(device), points, memory_frame, device
    )
    roofs = _roofs(peaks, bandwidth, points["intensity"].min() / 8, points["intensity"].max() * 4)
    color = alt.Color("dtype:N", title="precision", scale=series_color(points["dtype"].nunique()))
    x = log_x("intensity", "arithmetic intensity (FLOP/byte)")
    y = log_y("tflops", "throughput (TFLOP/s)")
    layers = [alt.Chart(roofs).mark_line(strokeDash=[6, 4]).encode(
        x=x, y=y, color=color, detail="dtype:N")] if len(roofs) else []
    layers.append(
        alt.Chart(thin(points))
        .mark_circle(size=60, opacity=0.85)
        .encode(x=x, y=y, color=color, tooltip=ROOFLINE_TOOLTIP)
    )
    others = f"; {len(devices) - 1} other device(s) left out" if len(devices) > 1 else ""
    caption = (f"Measured GEMMs on the roofline ({roof_source}; bandwidth: {bw_source}{others}); "
               "points far below their roof are lost to launch overhead or tiling, not to memory.")
    return figure("roofline", f"Roofline: {device}", caption,
                  alt.layer(*layers).properties(width=WIDTH, height=HEIGHT))


def memory(frame: pd.DataFrame) -> Figure | None:
    if frame.empty:
        return None
    data = aggregate(frame, ["device", "series", "bytes"], "gbps", "gbps_lo", "gbps_hi")
    data["series"] = _series(data, "series")
    profile = _profile(str(frame["device"].mode().iloc[0]))
    color = alt.Color("series:N", title="kernel", scale=series_color(data["series"].nunique()))
    x = log_x("bytes", "array size (log₂)", base=2, as_bytes=True)
    base = alt.Chart(thin(data))
    layers = [
        base.mark_line(point=True).encode(
            x=x,
            y=alt.Y("gbps:Q", title="bandwidth (GB/s)"),
            color=color,
            tooltip=[
                "series:N",
                alt.Tooltip("bytes:Q", format=",.0f"),
                alt.Tooltip("gbps:Q", format=",.4~r"),
            ],
        ),
        base.mark_area(opacity=0.18).encode(x=x, y="gbps_lo:Q", y2="gbps_hi:Q", color=color),
    ]
    note = "no datasheet profile for this device"
    if profile is not None:
        marks = pd.DataFrame({"bytes": [profile.l2_mb * 1e6], "gbps": [profile.hbm_bandwidth_gbps]})
        layers += [
            alt.Chart(marks).mark_rule(strokeDash=[6, 4], color="#555").encode(y="gbps:Q"),
            alt.Chart(marks).mark_rule(strokeDash=[2, 3], color="#999").encode(x=alt.X("bytes:Q")),
        ]
        note = (f"dashed: {profile.name} HBM {profile.hbm_bandwidth_gbps:,.0f} GB/s; "
                f"dotted: its {profile.l2_mb:g} MB L2")
    caption = (
        f"Achieved bandwidth against array size ({note}); look for the step down where arrays"
        " outgrow the cache and the plateau beyond it, the HBM bandwidth a kernel can count on."
    )
    return figure("memory-bandwidth", "Memory bandwidth against array size", caption,
                  alt.layer(*layers).properties(width=WIDTH, height=HEIGHT))


def collectives(frame: pd.DataFrame) -> Figure | None:
    if frame.empty:
        return None
    data = aggregate(frame, ["device", "series", "bytes"], "busbw_gbps", "busbw_lo", "busbw_hi")
    wrong = frame.groupby(["series", "bytes"])["wrong"].max().reset_index()
    data = data.merge(wrong, on=["series", "bytes"], how="left")
    data["series"] = _series(data, "series")
    color = alt.Color("series:N", title="collective", scale=series_color(data["series"].nunique()))
    x = log_x("bytes", "message size (log₂)", base=2, as_bytes=True)
    base = alt.Chart(thin(data))
    layers = [
        base.mark_line(point=True).encode(
            x=x,
            y=alt.Y("busbw_gbps:Q", title="bus bandwidth (GB/s)"),
            color=color,
            tooltip=[
                "series:N",
                alt.Tooltip("bytes:Q", format=",.0f"),
                alt.Tooltip("busbw_gbps:Q", format=",.4~r"),
                alt.Tooltip("wrong:Q", title="#wrong"),
            ],
        ),
        base.mark_area(opacity=0.15).encode(x=x, y="busbw_lo:Q", y2="busbw_hi:Q", color=color),
    ]
    bad = data[data["wrong"] > 0]
    if len(bad):
        layers.append(
            alt.Chart(bad)
            .mark_point(shape="cross", size=120, color="#d62728", filled=True)
            .encode(x=x, y="busbw_gbps:Q")
        )
    wrong_note = f"; red crosses: {len(bad)} sizes with wrong results" if len(bad) else ""
    caption = (
        "Bus bandwidth (nccl-tests convention: comparable across collectives and rank counts)"
        f" against message size{wrong_note}; look for the plateau, which should approach the link"
        " bandwidth."
    )
    return figure("collectives-busbw", "Collective bus bandwidth against message size", caption,
                  alt.layer(*layers).properties(width=WIDTH, height=HEIGHT))
