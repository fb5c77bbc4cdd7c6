"""Synthetic Run, Plan and comparison documents shaped as docs/run-format.md describes them.

For the report's tests and ``benchmarks/report_speed.py``: they exercise every chart,
including the suites and Plan fields whose producers may be absent from a given build. The
numbers are plausible for an 8×H100 node, not measurements; every document says so in its
``config`` or ``inputs``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from exabench.documents.plan import SCHEMA as PLAN_SCHEMA
from exabench.documents.plan import Plan
from exabench.documents.run import SCHEMA as RUN_SCHEMA
from exabench.documents.run import Result, Run, make_result

H100 = {"name": "NVIDIA H100 80GB HBM3", "memory_bytes": 85520809984}
PEAKS = {"fp32": 66.9, "tf32": 494.7, "bf16": 989.4, "fp8": 1978.9}


SAMPLE_COLLECTIVES = (("all_reduce", 2 * 7 / 8), ("all_gather", 7 / 8), ("reduce_scatter", 7 / 8))
"""Collectives of the sample Run and their busbw/algbw factors on 8 ranks (nccl-tests'
PERFORMANCE.md: 2(n-1)/n for all_reduce, (n-1)/n for the others)."""


def _samples(rng: np.random.Generator, seconds: float, n: int = 7) -> list[float]:
    return list(seconds * (1 + 0.03 * rng.standard_normal(n)).clip(0.9, 1.2))


def _gemm_results(rng: np.random.Generator, gemm_sizes: tuple[int, ...]) -> list[Result]:
    """A square GEMM per precision and size, its efficiency rising with size to 75% of peak."""
    results = []
    for dtype, peak in PEAKS.items():
        for size in gemm_sizes:
            eff = 0.75 / (1 + (1536 / size) ** 2)
            flop = 2.0 * size**3
            samples = _samples(rng, flop / (peak * 1e12 * eff))
            tflops = flop / float(np.median(samples)) / 1e12
            results.append(
                make_result(
                    suite="gemm",
                    name=f"gemm_{dtype}",
                    samples=samples,
                    params={"m": size, "n": size, "k": size, "dtype": dtype, "backend": "torch"},
                    metrics={
                        "tflops": tflops,
                        "pct_of_peak": 100 * tflops / peak,
                        "peak_tflops": peak,
                        "flop": flop,
                    },
                )
            )
    return results


def _memory_results(rng: np.random.Generator) -> list[Result]:
    """copy and triad from 64 KiB to 4 GiB, 3× faster below 40 MB (as if cached)."""
    results = []
    for kernel in ("copy", "triad"):
        for exp in range(16, 33, 2):
            size = 2**exp
            gbps = 3000.0 * (3.0 if size < 40e6 else 0.9) / (1 + 2**20 / size)
            moved = size * (2 if kernel == "copy" else 3)
            samples = _samples(rng, moved / (gbps * 1e9))
            results.append(
                make_result(
                    suite="memory",
                    name=f"memory_{kernel}",
                    samples=samples,
                    params={"kernel": kernel, "bytes": size, "direction": "d2d"},
                    metrics={
                        "gbps": moved / float(np.median(samples)) / 1e9,
                        "pct_of_peak": 100 * gbps / 3350,
                    },
                )
            )
    return results


def _collective_results(rng: np.random.Generator) -> list[Result]:
    """Each of :data:`SAMPLE_COLLECTIVES` from 1 KiB to 4 GiB on 8 ranks, 10 µs of latency."""
    results = []
    for collective, factor in SAMPLE_COLLECTIVES:
        for exp in range(10, 33, 2):
            size = 2**exp
            busbw = 360.0 / (1 + 2**22 / size)
            samples = _samples(rng, size * factor / (busbw * 1e9) + 1e-5)
            algbw = size / float(np.median(samples)) / 1e9
            results.append(
                make_result(
                    suite="collectives",
                    name=collective,
                    samples=samples,
                    params={
                        "collective": collective,
                        "bytes": size,
                        "nranks": 8,
                        "dtype": "bf16",
                        "inplace": False,
                    },
                    metrics={"algbw_gbps": algbw, "busbw_gbps": algbw * factor, "wrong": 0},
                )
            )
    return results


def _timeline(rng: np.random.Generator, points: int) -> list[dict[str, Any]]:
    """GPU 0 every 0.5 s, throttled (clocks down 300 MHz) from 60% to 80% of the way."""
    t = np.arange(points) * 0.5
    end = float(t.max()) if len(t) else 0.0
    throttled = (t > end * 0.6) & (t < end * 0.8)
    return [
        {
            "t_s": float(ti),
            "gpu": 0,
            "power_w": float(650 + 40 * np.sin(ti / 3) + 5 * rng.standard_normal()),
            "sm_clock_mhz": float(1830 - (300 if th else 0) + 10 * rng.standard_normal()),
            "temperature_c": 70.0,
            "throttle_reasons": 0x4 if th else 0,
        }
        for ti, th in zip(t, throttled, strict=True)
    ]


def _environment(model_name: str) -> dict[str, Any]:
    return {
        "host": {"hostname": "node-a", "cpu_model": "AMD EPYC 9654", "cpu_cores": 192},
        "software": {"torch": "2.5.0", "exabench": "0.1.0"},
        "gpu": {
            "count": 8,
            "devices": [dict(H100, index=i) for i in range(8)],
            "driver": "550.54",
            "cuda_runtime": "12.4",
            "nccl": "2.21.5",
        },
        "fingerprint": f"fp-{model_name}",
    }


def sample_run(*, seed: int = 0, run_id: str = "sample-run", model_name: str = "H100",
               timeline_points: int = 60, gemm_sizes: tuple[int, ...] = (1024, 2048, 4096, 8192),
               suites: tuple[str, ...] = ("gemm", "memory", "collectives")) -> Run:
    rng = np.random.default_rng(seed)
    # One generator, drawn from in this order: gemm, memory, collectives, timeline.
    results = []
    if "gemm" in suites:
        results += _gemm_results(rng, gemm_sizes)
    if "memory" in suites:
        results += _memory_results(rng)
    if "collectives" in suites:
        results += _collective_results(rng)
    timeline = _timeline(rng, timeline_points)
    return {
        "schema": RUN_SCHEMA,
        "id": run_id,
        "created": "2025-01-01T00:00:00Z",
        "exabench_version": "0.1.0",
        "commit": None,
        "config": {"synthetic": True, "suites": list(suites)},
        "environment": _environment(model_name),
        "telemetry": {"interval_s": 0.5, "timeline": timeline} if timeline_points else None,
        "results": results,
    }


def _plan_inputs(gpus: int, model: str) -> dict[str, Any]:
    return {
        "model": {"name": model, "params": 70.6e9},
        "hardware": {"name": "h100-sxm", "source": "published"},
        "cluster": {"name": "synthetic", "gpus": gpus},
        "layout": {"tp": 8, "pp": 4, "dp": max(gpus // 32, 1), "cp": 1, "ep": 1, "gpus": gpus},
        "assumptions": {
            "mfu_curve": {
                "value": "h100-sxm reference",
                "kind": "published",
                "source": "NVIDIA datasheet",
            },
            "pue": {"value": 1.3, "kind": "assumed", "source": "default"},
            "usd_per_gpu_hour": {"value": 2.0, "kind": "assumed", "source": "default"},
            "gemm_efficiency": {"value": 0.72, "kind": "measured", "source": "run sample-run"},
        },
    }


def _plan_uncertainty(days: float, usd: float, scale: float) -> dict[str, Any]:
    """Bands that widen with the cluster's size (``scale`` 0 at 8 GPUs, 1 at 100,000)."""
    return {
        "days": {
            "p10": days * (0.9 - 0.05 * scale),
            "p50": days,
            "p90": days * (1.15 + 0.2 * scale),
        },
        "usd": {
            "p10": usd * (0.92 - 0.04 * scale),
            "p50": usd,
            "p90": usd * (1.1 + 0.15 * scale),
        },
        "sensitivity": [
            {"input": "mfu_curve", "metric": "days", "low": -0.12, "high": 0.2},
            {"input": "goodput", "metric": "days", "low": -0.05, "high": 0.15},
            {"input": "pue", "metric": "usd", "low": -0.02, "high": 0.04},
        ],
    }


def sample_plan(*, gpus: int = 1024, model: str = "llama3-70b", uncertainty: bool = True) -> Plan:
    scale = np.log2(gpus / 8) / np.log2(100_000 / 8)
    mfu = 0.45 - 0.12 * scale
    per_gpu = 1000.0 * mfu / 0.45
    tokens = 15e12
    days = tokens / (per_gpu * gpus) / 86400 / 0.9
    usd = days * 24 * gpus * 2.0
    breakdown = {
        "compute": 6.0,
        "tp_comm": 0.6,
        "pp_bubble": 0.3 + 0.5 * scale,
        "dp_comm": 0.2 + 0.8 * scale,
        "optimizer": 0.1,
    }
    plan: dict[str, Any] = {
        "schema": PLAN_SCHEMA,
        "inputs": _plan_inputs(gpus, model),
        "step_time_s": sum(breakdown.values()),
        "tokens_per_s_per_gpu": per_gpu,
        "model_tflops_per_gpu": 989.4 * mfu,
        "mfu": mfu,
        "memory": {"gib_per_gpu": 61.2, "fits": True, "weights": 17.6, "activations": 30.0},
        "breakdown_s": breakdown,
        "training": {
            "tokens": tokens,
            "days": days,
            "gpu_hours": days * 24 * gpus,
            "goodput": 0.9,
            "interruptions": 0.02 * gpus * days / 24,
        },
        "power": {
            "it_mw": gpus * 1.4e-3,
            "facility_mw": gpus * 1.82e-3,
            "energy_mwh": gpus * 1.82e-3 * days * 24,
        },
        "cost": {"usd": usd, "usd_per_gpu_hour": 2.0},
    }
    if uncertainty:
        plan["uncertainty"] = _plan_uncertainty(days, usd, scale)
    return plan


def sample_comparison(n: int = 12, seed: int = 0) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    results = []
    for i in range(n):
        ratio = float(1 + 0.05 * rng.standard_normal())
        half = 0.02
        verdict = (
            "regressed"
            if ratio + half < 0.97
            else "improved" if ratio - half > 1.03 else "unchanged"
        )
        results.append({
            "suite": "gemm",
            "name": f"gemm_bf16_{i}",
            "params": {"m": 1024 * (i + 1)},
            "metric": "tflops",
            "base": 500.0,
            "new": 500 * ratio,
            "ratio": ratio,
            "ci": [ratio - half, ratio + half],
            "p_value": 0.01,
            "verdict": verdict,
        })
    verdict = "regressed" if any(r["verdict"] == "regressed" for r in results) else "unchanged"
    return {"verdict": verdict, "results": results}
