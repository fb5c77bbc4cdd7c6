"""The two external launchers the README documents, for real, on CPU ranks: ``torchrun`` (its
agent serves the store; every rank reads RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR/PORT) and
``srun`` with one task per GPU (stood in for by starting the tasks with the variables srun sets:
SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID, SLURM_TASKS_PER_NODE, plus the exported
MASTER_ADDR/PORT; rank 0 then serves the store itself). Either way rank 0 writes one Run."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from exabench.documents.run import load_run

SWEEP = [
    "--device",
    "cpu",
    "--collectives",
    "all_reduce,all_gather",
    "--min-bytes",
    "1Ki",
    "--max-bytes",
    "4Ki",
    "--step-factor",
    "4",
    "--iters",
    "3",
    "--warmup-iters",
    "1",
    "--timeout",
    "60",
]
CLEAN = {k: v for k, v in os.environ.items()
         if not k.startswith(("SLURM_", "TORCHELASTIC_", "EXABENCH_")) and k not in (
             "RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _check_run(out: Path, nranks: int) -> None:
    runs = sorted(out.glob("*.json"))
    assert len(runs) == 1, runs  # rank 0 is the only writer
    run = load_run(runs[0])
    assert [i["rank"] for i in run["config"]["ranks"]] == list(range(nranks))
    results = run["results"]
    assert {r["name"] for r in results} == {"all_reduce", "all_gather"}
    assert all(
        r["status"] == "ok" and r["metrics"]["wrong"] == 0 and r["params"]["nranks"] == nranks
        for r in results
    )
    assert all(len(r["ranks"]["samples"]) == nranks for r in results)


def test_torchrun_standalone_two_ranks(tmp_path) -> None:
    out = tmp_path / "runs"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nnodes",
            "1",
            "--nproc-per-node",
            "2",
            "-m",
            "exabench",
            "bench",
            "collectives",
            *SWEEP,
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=240,
        env=CLEAN,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Avg bus bandwidth" in proc.stdout
    _check_run(out, 2)


def test_srun_tasks_without_torchrun(tmp_path) -> None:
    out, port, ntasks = tmp_path / "runs", _free_port(), 3
    procs = []
    for rank in range(ntasks):
        env = {
            **CLEAN,
            "SLURM_PROCID": str(rank),
            "SLURM_NTASKS": str(ntasks),
            "SLURM_LOCALID": str(rank),
            "SLURM_TASKS_PER_NODE": str(ntasks),
            "MASTER_ADDR": "127.0.0.1",
            "MASTER_PORT": str(port),
        }
        procs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "exabench",
                    "bench",
                    "collectives",
                    *SWEEP,
                    "--out",
                    str(out),
                ],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    outputs = [p.communicate(timeout=240) for p in procs]
    for rank, (p, (_stdout, stderr)) in enumerate(zip(procs, outputs, strict=True)):
        assert p.returncode == 0, f"task {rank}: {stderr[-3000:]}"
    assert "Avg bus bandwidth" in outputs[0][0]
    _check_run(out, ntasks)
