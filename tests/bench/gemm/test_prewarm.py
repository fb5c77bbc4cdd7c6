"""The GPU prewarm before the GEMM sweep: defaults per device, the loop, and its record in the
Run."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from exabench.bench.device import Device
from exabench.bench.gemm.prewarm import FULL_S, QUICK_S, default_seconds, prewarm
from exabench.cli import cli

FAST = [
    "--device",
    "cpu",
    "--warmup-ms",
    "0",
    "--rep-ms",
    "1",
    "--telemetry-hz",
    "0",
    "--sizes",
    "16",
]


def test_defaults_heat_a_gpu_and_leave_a_cpu_alone() -> None:
    assert default_seconds(Device("cuda"), quick=False) == FULL_S == 30.0
    assert default_seconds(Device("cuda"), quick=True) == QUICK_S
    assert default_seconds(Device("cpu"), quick=False) == 0.0


def test_prewarm_runs_for_its_budget_and_counts_its_calls() -> None:
    record = prewarm(Device("cpu"), 0.3)
    assert 0.3 <= record["seconds"] < 2.0
    assert record["calls"] >= 1 and record["tflops"] > 0
    assert (record["m"], record["dtype"]) == (512, "fp32")


def _run(tmp_path, *extra: str) -> dict:
    result = CliRunner().invoke(cli, ["bench", "gemm", *FAST, *extra, "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    return json.loads(next(tmp_path.glob("*.json")).read_text())


def test_a_cpu_run_has_no_prewarm_unless_asked(tmp_path) -> None:
    assert "prewarm" not in _run(tmp_path)


def test_asked_prewarm_is_recorded_in_the_run_and_said(tmp_path) -> None:
    run = _run(tmp_path, "--prewarm-s", "0.2")
    assert run["config"]["options"]["prewarm_s"] == 0.2
    [record] = run["prewarm"]
    assert record["seconds"] >= 0.2 and record["calls"] >= 1


@pytest.mark.gpu
def test_gpu_prewarm_reaches_tensor_core_rates() -> None:
    record = prewarm(Device("cuda"), 1.0)
    assert record["dtype"] == "bf16" and record["tflops"] > 50
