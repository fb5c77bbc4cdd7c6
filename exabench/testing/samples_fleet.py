"""A synthetic fleet screening shaped as ``exabench bench all`` under torchrun writes it.

For the report's tests: one small Run per GPU (a bf16 GEMM and a triad), the collectives Run
with every rank's busbw, and the ``fleet.json`` summary computed from them by the same
functions :mod:`exabench.bench.fleet` uses (:mod:`exabench.analysis.fleet`). The numbers are
plausible for H100 nodes with a few planted slow GPUs, not measurements; every Run says so in
its ``config``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from exabench.analysis.fleet import figures_from_run, link_figures, summarize_fleet
from exabench.documents import FLEET_SCHEMA
from exabench.documents.run import SCHEMA as RUN_SCHEMA
from exabench.documents.run import Result, Run, make_result
from exabench.testing.samples import H100

GEMM_TFLOPS, TRIAD_GBPS, BUSBW_GBPS = 720.0, 2900.0, 360.0
SLOW = {13: {"gemm": 0.85}, 42: {"memory": 0.90, "gemm": 0.93}}
"""Planted slow GPUs: rank -> suite -> factor of its healthy value."""


def _run(rank: int, host: str, results: list[Result], run_id: str) -> Run:
    return {
        "schema": RUN_SCHEMA,
        "id": run_id,
        "created": "2025-01-01T00:00:00Z",
        "exabench_version": "0.1.0",
        "commit": None,
        "config": {"synthetic": True, "fleet_rank": rank},
        "environment": {
            "host": {"hostname": host},
            "gpu": {"count": 8, "devices": [dict(H100, index=rank % 8)]},
            "fingerprint": "fp-fleet",
        },
        "telemetry": None,
        "results": results,
    }


def _timed(seconds: float) -> list[float]:
    return [seconds * f for f in (1.0, 1.001, 0.999)]


def _rank_run(rank: int, host: str, factor: dict[str, float]) -> Run:
    """One GPU's Run: a bf16 GEMM and a triad at the healthy values times ``factor``."""
    flop, moved = 2.0 * 8192**3, 3 * 2**30
    tflops, gbps = GEMM_TFLOPS * factor["gemm"], TRIAD_GBPS * factor["memory"]
    return _run(
        rank,
        host,
        [
            make_result(
                suite="gemm",
                name="gemm_bf16",
                samples=_timed(flop / tflops / 1e12),
                params={"m": 8192, "n": 8192, "k": 8192, "dtype": "bf16", "backend": "torch"},
                metrics={"tflops": tflops},
            ),
            make_result(
                suite="memory",
                name="triad",
                samples=_timed(moved / gbps / 1e9),
                params={"kernel": "triad", "bytes": 2**30, "dtype": "bf16", "backend": "torch"},
                metrics={"gbps": gbps},
            ),
        ],
        run_id=f"20250101T000000Z_{host}_fleet",
    )


def _collectives_run(busbw: list[float]) -> Run:
    """Rank 0's collectives Run: a 1 GiB all_reduce over the world, each rank's busbw in it."""
    size = 2**30
    return _run(
        0,
        "node-000",
        [
            make_result(
                suite="collectives",
                name="all_reduce",
                samples=_timed(size / BUSBW_GBPS / 1e9),
                params={
                    "collective": "all_reduce",
                    "bytes": size,
                    "nranks": len(busbw),
                    "dtype": "bf16",
                    "inplace": False,
                },
                metrics={"busbw_gbps": float(np.median(busbw))},
                extra={"ranks": {"busbw_gbps": busbw}},
            )
        ],
        run_id="collectives",
    )


def _gpu_records(runs: dict[int, Run], collectives: Run, per_node: int) -> list[dict[str, Any]]:
    """The fleet summary's record of each GPU, its figures read back from its Runs."""
    links = link_figures(collectives)
    return [
        {
            "rank": r,
            "host": f"node-{r // per_node:03d}",
            "local_rank": r % per_node,
            "device": "cuda:0 H100",
            "uuid": f"GPU-{r:08x}-5e1f-4c3a-9b7d-{r * 7919:012x}",
            "run": f"/scratch/fleet/fleet_20250101T000000Z/rank{r:05d}/{doc['id']}.json",
            "figures": {**figures_from_run(doc), **links.get(r, {})},
            "error": None,
        }
        for r, doc in runs.items()
    ]


def sample_fleet(*, gpus: int = 64, per_node: int = 8, seed: int = 0,
                 slow: dict[int, dict[str, float]] | None = None) -> dict[str, Any]:
    """``{"fleet": fleet.json, "runs": {rank: Run}, "collectives": Run, "gpus": records}``."""
    slow = SLOW if slow is None else slow
    rng = np.random.default_rng(seed)
    runs, busbw = {}, []
    for rank in range(gpus):
        host = f"node-{rank // per_node:03d}"
        factor = {
            suite: float(1 + 0.01 * rng.standard_normal()) * slow.get(rank, {}).get(suite, 1.0)
            for suite in ("gemm", "memory", "collectives")
        }
        busbw.append(BUSBW_GBPS * factor["collectives"])
        runs[rank] = _rank_run(rank, host, factor)
    collectives = _collectives_run(busbw)
    records = _gpu_records(runs, collectives, per_node)
    fleet = {
        "schema": FLEET_SCHEMA,
        "fleet": "/scratch/fleet/fleet_20250101T000000Z",
        "collectives_run": "/scratch/fleet/fleet_20250101T000000Z/collectives.json",
        "runs": {str(r["rank"]): r["run"] for r in records},
        "ranks": [{k: v for k, v in r.items() if k != "figures"} for r in records],
        **summarize_fleet(records),
    }
    gpu_records = [{k: r[k] for k in ("rank", "host", "local_rank", "figures")} for r in records]
    return {"fleet": fleet, "runs": runs, "collectives": collectives, "gpus": gpu_records}


def write_fleet(folder: str | Path, sample: dict[str, Any]) -> Path:
    """Lay a sample out as the bench writes it (``fleet_<UTC>/rank<NNNNN>/…``); returns the
    path of its ``fleet.json``. The summary's Run paths name another machine's folder, as a
    copied fleet folder's do."""
    fleet_dir = Path(folder) / Path(sample["fleet"]["fleet"]).name
    for rank, doc in sample["runs"].items():
        (fleet_dir / f"rank{rank:05d}").mkdir(parents=True, exist_ok=True)
        (fleet_dir / f"rank{rank:05d}" / f"{doc['id']}.json").write_text(json.dumps(doc))
    (fleet_dir / "collectives.json").write_text(json.dumps(sample["collectives"]))
    (fleet_dir / "fleet.json").write_text(json.dumps(sample["fleet"], indent=1))
    return fleet_dir / "fleet.json"
