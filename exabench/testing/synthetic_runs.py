"""Synthetic Run documents with known effects, for the regression tests and the speed script.

Every sample set is drawn from a seeded generator, so a test that asks "is a 10 % slowdown
found?" is deterministic. The documents pass :func:`exabench.documents.run.check_run`.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence
from typing import Any

import numpy as np

from exabench.documents.run import SCHEMA, Result, Run, make_result

FINGERPRINT_FIELDS = [
    "gpu.count",
    "gpu.devices.name",
    "gpu.driver",
    "software.torch",
    "host.cpu_model",
]


def environment(
    fingerprint: str = "fp-h100",
    gpu: str = "NVIDIA H100 80GB HBM3",
    driver: str = "550.54",
    torch: str = "2.4.0",
) -> dict[str, Any]:
    return {
        "host": {
            "hostname": "node1",
            "cpu_model": "Xeon",
            "machine": "x86_64",
            "os": "Linux 6.1",
            "python": "3.11.7",
            "cpu_cores": 64,
        },
        "software": {"torch": torch},
        "gpu": {
            "count": 8,
            "devices": [{"name": gpu, "memory_bytes": 85899345920}] * 8,
            "driver": driver,
            "cuda_runtime": "12.4",
            "nccl": "2.21.5",
        },
        "fingerprint_fields": FINGERPRINT_FIELDS,
        "fingerprint": fingerprint,
    }


def gemm_result(size: int, samples: Sequence[float], *, dtype: str = "bf16", status: str = "ok",
                telemetry: dict[str, Any] | None = None) -> Result:
    """A GEMM result whose ``tflops`` is computed from the median, as the harness does."""
    flop = 2 * size**3
    result = make_result(
        suite="gemm",
        name=f"gemm_{dtype}",
        samples=list(samples) if status == "ok" else [],
        params={"m": size, "n": size, "k": size, "dtype": dtype, "backend": "torch"},
        status=status,
        error=None if status == "ok" else "out of memory: synthetic",
        telemetry=telemetry,
    )
    if status == "ok":
        result["metrics"] = {"tflops": flop / result["stats"]["median"] / 1e12, "flop": flop}
    return result


def run_doc(run_id: str, results: list[Result], *, created: str = "2025-01-01T00:00:00Z",
            fingerprint: str = "fp-h100", env: dict[str, Any] | None = None,
            commit: str | None = None) -> Run:
    return {
        "schema": SCHEMA,
        "id": run_id,
        "created": created,
        "exabench_version": "0.1.0",
        "commit": commit,
        "environment": env or environment(fingerprint),
        "config": {"device": "cuda:0"},
        "results": results,
        "telemetry": None,
    }


def noisy(rng: np.random.Generator, median: float, cv: float, n: int) -> list[float]:
    """n positive samples around ``median`` with coefficient of variation ``cv`` (log-normal)."""
    return list(median * np.exp(cv * rng.standard_normal(n)))


def gemm_run(run_id: str, rng: np.random.Generator, *, results: int, samples: int, cv: float = 0.02,
             slowdown: float = 1.0, created: str = "2025-01-01T00:00:00Z",
             fingerprint: str = "fp-h100") -> Run:
    """A Run of ``results`` GEMM sizes, every time multiplied by ``slowdown``."""
    out = []
    for i in range(results):
        size = 256 + 64 * i
        base_time = 2 * size**3 / 400e12  # 400 TFLOP/s
        out.append(gemm_result(size, noisy(rng, base_time * slowdown, cv, samples)))
    return run_doc(run_id, out, created=created, fingerprint=fingerprint)


def stepped_history(
    rng: np.random.Generator,
    *,
    runs: int,
    results: int,
    steps: dict[int, tuple[int, float]],
    hours_apart: float = 1.0,
    samples: int = 10,
    id_digits: int = 5,
) -> list[Run]:
    """``runs`` Runs of ``results`` GEMM sizes with 1 % noise, in time order; ``steps`` maps a
    result index to ``(run index, relative change)``: that size's time steps by that much from
    that run on (the change points a history must find)."""
    start = _dt.datetime(2025, 1, 1, tzinfo=_dt.timezone.utc)
    docs = []
    for i in range(runs):
        out = []
        for j in range(results):
            size = 512 + 128 * j
            at, change = steps.get(j, (runs, 0.0))
            level = 1.0 + (change if i >= at else 0.0)
            out.append(gemm_result(size, noisy(rng, 2 * size**3 / 400e12 * level, 0.01, samples)))
        created = (start + _dt.timedelta(hours=hours_apart * i)).strftime("%Y-%m-%dT%H:%M:%SZ")
        docs.append(run_doc(f"run{i:0{id_digits}d}", out, created=created))
    return docs
