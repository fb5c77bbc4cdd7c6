"""Pure summaries of telemetry samples (rows in ``telemetry.COLUMNS`` order:
``t_s, power_w, sm_clock_mhz, mem_clock_mhz, temp_c, util_gpu_pct, util_mem_pct, reasons``).

Kept apart from the sampler so they are tested on hand-made rows. The run's timeline is a
list of per-sample dicts, the form ``exabench.reports`` reads for its power/clock/throttle chart.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from exabench.bench.telemetry import throttle

T, POWER, SM, MEM, TEMP, UTIL_GPU, UTIL_MEM, REASONS = range(8)


def _values(rows: Sequence[Sequence[Any]], col: int) -> list[float]:
    return [r[col] for r in rows if r[col] is not None]


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def summarize_rows(rows: Sequence[Sequence[Any]]) -> dict[str, Any]:
    """Mean/max power, minimum clocks, hottest temperature, mean utilisation, reasons seen.

    The minimum SM and memory clocks leave out samples taken while NVML said GpuIdle (an idle
    GPU drops to its idle clock; that is not the clock the benchmark ran at), unless every
    sample was idle.
    """
    busy = [r for r in rows if not throttle.is_idle(r[REASONS])] or list(rows)
    mask = 0
    for r in rows:
        mask |= r[REASONS] or 0
    power = _values(rows, POWER)
    sm, mem, temp = _values(busy, SM), _values(busy, MEM), _values(rows, TEMP)
    return {
        "samples": len(rows),
        "power_mean_w": _mean(power),
        "power_max_w": max(power) if power else None,
        "sm_clock_min_mhz": min(sm) if sm else None,
        "sm_clock_mean_mhz": _mean(sm),
        "mem_clock_min_mhz": min(mem) if mem else None,
        "temp_max_c": max(temp) if temp else None,
        "util_gpu_mean_pct": _mean(_values(rows, UTIL_GPU)),
        "util_mem_mean_pct": _mean(_values(rows, UTIL_MEM)),
        "reasons": throttle.decode(mask),
        "throttle_reasons": throttle.throttle_reasons(mask),
        "throttled": throttle.is_throttled(mask),
        "throttled_samples": sum(throttle.is_throttled(r[REASONS]) for r in rows),
    }


def throttled_spans(
    rows: Sequence[Sequence[Any]], spans: Sequence[tuple[float, float]]
) -> list[int]:
    """Indices of the timed calls measured while the GPU reported throttling.

    NVML gives the clocks-event reasons as a state read every sampling period (50 ms at 20 Hz),
    while one timed call can take microseconds, so most calls hold no reading of their own.
    The state is taken as held from one reading to the next (zero-order hold): a call
    ``(start, end)`` on the sampler's clock is throttled when the last reading at or before
    its start, or any reading inside it, has a throttling reason (:data:`throttle.THROTTLE_MASK`).
    Rows must be in time order, as the sampler appends them.
    """
    import bisect

    times = [r[T] for r in rows]
    flagged = []
    for index, (start, end) in enumerate(spans):
        first = max(0, bisect.bisect_right(times, start) - 1)
        last = bisect.bisect_right(times, end)
        if any(throttle.is_throttled(r[REASONS]) for r in rows[first:last]):
            flagged.append(index)
    return flagged


def integrate(rows: Sequence[Sequence[Any]], start: float, end: float) -> float | None:
    """Energy (J) over ``[start, end]`` by the trapezoid rule on the power samples, holding the
    first and last sample's power out to the edges; None without any power sample."""
    points = [(r[T], r[POWER]) for r in rows if r[POWER] is not None]
    if not points or end <= start:
        return None if not points else 0.0
    inside = [(t, p) for t, p in points if start < t < end]
    first = inside[0][1] if inside else points[-1][1]
    last = inside[-1][1] if inside else first
    curve = [(start, first), *inside, (end, last)]
    return sum(
        (t1 - t0) * (p0 + p1) / 2 for (t0, p0), (t1, p1) in zip(curve, curve[1:], strict=False)
    )


def timeline(rows: Sequence[Sequence[Any]], columns: Sequence[str], max_rows: int,
             gpu: int | None = None) -> list[dict[str, Any]]:
    """One dict per sample (the keys of ``columns``, plus ``gpu`` and a ``throttled`` flag);
    beyond ``max_rows`` samples, neighbours are merged (mean power and temperature, minimum
    clocks, OR of the reason bits) so no throttle event and no clock dip is lost."""
    merged = [list(r) for r in rows]
    while len(merged) > max_rows:
        merged = [_merge(merged[i:i + 2]) for i in range(0, len(merged), 2)]
    for r in merged:
        r[T] = round(r[T], 4)
    return [
        {
            **dict(zip(columns, r, strict=True)),
            "gpu": gpu,
            "throttled": throttle.is_throttled(r[REASONS]),
        }
        for r in merged
    ]


def _merge(group: list[list[Any]]) -> list[Any]:
    if len(group) == 1:
        return group[0]
    a, b = group

    def mean(i: int) -> Any:
        vals = [v for v in (a[i], b[i]) if v is not None]
        return sum(vals) / len(vals) if vals else None

    def low(i: int) -> Any:
        vals = [v for v in (a[i], b[i]) if v is not None]
        return min(vals) if vals else None

    reasons = (
        None if a[REASONS] is None and b[REASONS] is None else (a[REASONS] or 0) | (b[REASONS] or 0)
    )
    return [
        a[T],
        mean(POWER),
        low(SM),
        low(MEM),
        mean(TEMP),
        mean(UTIL_GPU),
        mean(UTIL_MEM),
        reasons,
    ]
