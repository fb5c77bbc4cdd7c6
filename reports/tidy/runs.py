"""Runs as tidy tables (one row per measured point), the only shape the charts take.

Only ``ok`` results with a finite metric become rows: a failed or skipped case has no number
to draw. Timing quartiles become bands on the derived metric: a rate is work / time, so the
rate's upper quartile comes from the time's lower quartile (``rate_hi = rate * median / q1``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import pandas as pd

from exabench.reports.inputs.documents import Document

# Bytes per element of each GEMM precision, for arithmetic intensity. fp8/int8 GEMMs write a
# wider output in practice; counting it at the input width keeps the estimate simple and
# within a few percent for large square shapes, where inputs dominate.
DTYPE_BYTES = {"fp64": 8, "fp32": 4, "tf32": 4, "bf16": 2, "fp16": 2, "fp8": 1, "int8": 1}
# Telemetry sample keys: the first present wins, so older and newer writers both read.
TIME_KEYS = ("t_s", "t", "time_s", "elapsed_s", "time")
POWER_KEYS = ("power_w", "power", "power_watts")
CLOCK_KEYS = ("sm_clock_mhz", "clock_sm_mhz", "sm_mhz", "clock_mhz", "sm_clock")
THROTTLE_KEYS = ("throttled", "throttle", "throttle_reasons", "clocks_event_reasons", "reasons")
GPU_KEYS = ("gpu", "index", "device", "gpu_index")


def number(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        x = float(value)
    except (TypeError, ValueError, OverflowError):  # 10^400 in a JSON file
        return None
    return x if math.isfinite(x) else None


def first(mapping: dict[str, Any], keys: Iterable[str]) -> Any:
    for key in keys:
        if key in mapping and mapping[key] is not None:
            return mapping[key]
    return None


def run_label(doc: dict[str, Any]) -> str:
    return str(doc.get("id") or doc.get("created") or "run")


def device_label(doc: dict[str, Any]) -> str:
    """The GPU name (``NVIDIA H100 80GB HBM3``), else the CPU model for a CPU Run."""
    env = doc.get("environment") or {}
    devices = (env.get("gpu") or {}).get("devices") or []
    if devices and isinstance(devices[0], dict) and devices[0].get("name"):
        return str(devices[0]["name"])
    cpu = (env.get("host") or {}).get("cpu_model")
    return f"CPU: {cpu}" if cpu else "unknown device"


def _ok_results(runs: list[Document], suite: str):
    for document in runs:
        for result in document.doc.get("results") or []:
            if result.get("suite") == suite and result.get("status") == "ok":
                yield document.doc, result


def _band(rate: float, stats: dict[str, Any]) -> tuple[float, float]:
    median, q1, q3 = (number((stats or {}).get(k)) for k in ("median", "q1", "q3"))
    if not (median and q1 and q3):
        return rate, rate
    return rate * median / q3, rate * median / q1


def gemm_frame(runs: list[Document]) -> pd.DataFrame:
    """run, device, dtype, backend, m, n, k, size (cube root of m·n·k), flop, tflops with its
    quartile band, pct_of_peak, peak_tflops, intensity (FLOP per byte of A, B and C)."""
    rows = []
    for doc, result in _ok_results(runs, "gemm"):
        params, metrics = result.get("params") or {}, result.get("metrics") or {}
        tflops = number(metrics.get("tflops"))
        m, n, k = (number(params.get(key)) for key in ("m", "n", "k"))
        if tflops is None or not (m and n and k):
            continue
        dtype = str(params.get("dtype", "?"))
        flop = number(metrics.get("flop")) or 2 * m * n * k
        moved = (m * k + k * n + m * n) * DTYPE_BYTES.get(dtype, 4)
        lo, hi = _band(tflops, result.get("stats"))
        rows.append({
            "run": run_label(doc), "device": device_label(doc), "dtype": dtype,
            "backend": str(params.get("backend", "")), "name": str(result.get("name", "")),
            "m": m, "n": n, "k": k, "size": (m * n * k) ** (1 / 3), "flop": flop,
            "tflops": tflops, "tflops_lo": lo, "tflops_hi": hi,
            "pct_of_peak": number(metrics.get("pct_of_peak")),
            "peak_tflops": number(metrics.get("peak_tflops")),
            "peak_source": metrics.get("peak_source"),
            "intensity": flop / moved,
        })
    return pd.DataFrame(rows)


LINK_KERNELS = ("host_copy", "peer_copy")
"""Memory results that time a link (PCIe, NVLink), not a memory: their figure does not depend
on whether an array fits a cache."""


def memory_frame(runs: list[Document]) -> pd.DataFrame:
    """run, device, kernel, direction, series, bytes (of one array), gbps with its band,
    pct_of_peak."""
    rows = []
    for doc, result in _ok_results(runs, "memory"):
        params, metrics = result.get("params") or {}, result.get("metrics") or {}
        gbps, size = number(metrics.get("gbps")), number(params.get("bytes"))
        if gbps is None or not size:
            continue
        kernel = str(params.get("kernel", result.get("name", "?")))
        direction = params.get("direction")
        lo, hi = _band(gbps, result.get("stats"))
        # The raw cupy kernels are their own series beside torch's (the memory's figure vs a
        # framework's).
        series = kernel if direction in (None, "") else f"{kernel} ({direction})"
        if params.get("backend") not in (None, "torch"):
            series = f"{series} · {params['backend']}"
        rows.append({
            "run": run_label(doc), "device": device_label(doc), "kernel": kernel,
            "direction": "" if direction is None else str(direction),
            "series": series,
            "bytes": size, "gbps": gbps, "gbps_lo": lo, "gbps_hi": hi,
            "pct_of_peak": number(metrics.get("pct_of_peak")),
        })
    return pd.DataFrame(rows)


def collectives_frame(runs: list[Document]) -> pd.DataFrame:
    """run, collective, series (collective, ranks, in-place), bytes, algbw/busbw (GB/s), wrong."""
    rows = []
    for doc, result in _ok_results(runs, "collectives"):
        params, metrics = result.get("params") or {}, result.get("metrics") or {}
        busbw, size = number(metrics.get("busbw_gbps")), number(params.get("bytes"))
        if busbw is None or not size:
            continue
        collective = str(params.get("collective", result.get("name", "?")))
        nranks = params.get("nranks")
        series = collective + (f" ×{nranks}" if nranks is not None else "")
        if params.get("inplace"):
            series += " in-place"
        lo, hi = _band(busbw, result.get("stats"))
        rows.append({
            "run": run_label(doc), "device": device_label(doc), "collective": collective,
            "series": series, "nranks": number(nranks), "dtype": str(params.get("dtype", "")),
            "inplace": bool(params.get("inplace")), "bytes": size,
            "algbw_gbps": number(metrics.get("algbw_gbps")), "busbw_gbps": busbw,
            "busbw_lo": lo, "busbw_hi": hi, "wrong": number(metrics.get("wrong")) or 0,
        })
    return pd.DataFrame(rows)


def _timeline(telemetry: Any) -> list[dict[str, Any]]:
    if isinstance(telemetry, list):
        return [s for s in telemetry if isinstance(s, dict)]
    if isinstance(telemetry, dict):
        for key in ("timeline", "samples"):
            value = telemetry.get(key)
            if isinstance(value, list):
                return [s for s in value if isinstance(s, dict)]
            if isinstance(value, dict):  # per GPU: {"0": [...], "1": [...]}
                return [
                    {**s, "gpu": gpu}
                    for gpu, series in value.items()
                    if isinstance(series, list)
                    for s in series
                    if isinstance(s, dict)
                ]
    return []


def _throttled(value: Any) -> bool:
    """True for a set bitmask other than GpuIdle (0x1, idle is not a slowdown), a truthy flag,
    or a non-empty list of reason names."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return math.isfinite(value) and bool(int(value) & ~0x1)
    if isinstance(value, (list, tuple, set)):
        return any(str(v).lower() not in ("gpuidle", "gpu_idle", "idle") for v in value)
    if isinstance(value, str):
        return value.strip().lower() not in ("", "none", "0", "gpuidle", "idle")
    return False


def timeline_frame(runs: list[Document]) -> pd.DataFrame:
    """run, gpu, t_s (from the Run's first sample), power_w, sm_clock_mhz, throttled."""
    rows = []
    for document in runs:
        samples = _timeline(document.doc.get("telemetry"))
        times = [number(first(s, TIME_KEYS)) for s in samples]
        start = min((t for t in times if t is not None), default=0.0)
        for sample, t in zip(samples, times, strict=True):
            if t is None:
                continue
            gpu = first(sample, GPU_KEYS)
            rows.append({
                "run": run_label(document.doc),
                "gpu": "0" if gpu is None else str(gpu),
                "t_s": t - start,
                "power_w": number(first(sample, POWER_KEYS)),
                "sm_clock_mhz": number(first(sample, CLOCK_KEYS)),
                "throttled": _throttled(first(sample, THROTTLE_KEYS)),
            })
    return pd.DataFrame(rows)


def status_counts(runs: list[Document]) -> dict[str, int]:
    counts = {"ok": 0, "failed": 0, "skipped": 0}
    for document in runs:
        for result in document.doc.get("results") or []:
            counts[result.get("status", "failed")] = (
                counts.get(result.get("status", "failed"), 0) + 1
            )
    return counts
