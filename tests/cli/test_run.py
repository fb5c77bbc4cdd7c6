"""The main job end to end on a CPU: bench all, the default scenario, the report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from exabench.cli import main
from exabench.documents.run import load_run


def test_exabench_run_quick_on_cpu(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["run", "--quick", "--device", "cpu", "--no-images", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert info.value.code == 0
    [run_path] = [p for p in tmp_path.glob("*.json") if not p.name.endswith("_plan.json")]
    run = load_run(run_path)
    assert {r["suite"] for r in run["results"]} >= {"gemm", "memory", "collectives"}
    plan = json.loads(next(tmp_path.glob("*_plan.json")).read_text())
    assert plan["schema"] == "exabench.plan/1"
    scenario = plan["inputs"]["scenario"]
    # A CPU Run never pretends to be an H100 plan: the reference profile, said plainly.
    assert scenario["basis"] == "reference" and scenario["profile"] == "h100-sxm"
    assert scenario["run_id"] == run["id"]
    assert (tmp_path / "report" / "report.html").is_file() and (
        tmp_path / "report" / "report.md"
    ).is_file()
    for expected in ("Measured on this machine", "best GEMM", "reference (h100-sxm)", "training",
                     "facility", "report (HTML)", str(tmp_path / "report" / "report.html")):
        assert expected in out


def test_run_rejects_a_bad_device(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["run", "--device", "gpu7", "--out", str(tmp_path)])
    assert info.value.code == 2
    assert capsys.readouterr().err.startswith("error: device 'gpu7' is not valid")
