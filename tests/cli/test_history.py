"""``exabench history`` and ``exabench export`` end to end, and their bad inputs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from exabench.cli import main
from exabench.testing.synthetic_runs import gemm_result, noisy, run_doc


def run_main(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(args)
    out, err = capsys.readouterr()
    return int(info.value.code or 0), out, err


def history_folder(folder: Path, n: int = 24, step_at: int = 16) -> Path:
    rng = np.random.default_rng(0)
    folder.mkdir(exist_ok=True)
    for i in range(n):
        factor = 1.06 if i >= step_at else 1.0
        doc = run_doc(f"run{i:03d}", [gemm_result(512, noisy(rng, 1e-3 * factor, 0.01, 10))],
                      created=f"2025-02-01T{i:02d}:00:00Z")
        (folder / f"{i:03d}.json").write_text(json.dumps(doc))
    return folder


def test_history_json_and_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = history_folder(tmp_path / "runs")
    status, out, _ = run_main(["history", str(folder), "--format", "json"], capsys)
    doc = json.loads(out)
    assert status == 0 and doc["runs"] == 24
    series = doc["series"][0]
    assert {"suite", "name", "params", "metric", "fingerprint", "points", "change_points"} <= set(
        series
    )
    assert [cp["run_id"] for cp in series["change_points"]] == ["run016"]
    status, out, _ = run_main(["history", str(folder), "--metric", "time"], capsys)
    assert status == 0 and "at run 16 (run016)" in out and "regressed" in out


def test_history_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    for args, message in ([str(empty)], "holds no Run documents"), (
        [str(tmp_path / "nope")],
        "no such folder",
    ):
        status, out, err = run_main(["history", *args], capsys)
        assert status == 2 and out == "" and message in err and len(err.strip().splitlines()) == 1
    folder = history_folder(tmp_path / "runs", n=4)
    (folder / "broken.json").write_text('{"schema": "exabench.run/1"}')
    status, _, err = run_main(["history", str(folder)], capsys)
    assert status == 2 and "lacks" in err and "broken.json" in err


def test_export_both_formats(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rng = np.random.default_rng(1)
    run = tmp_path / "run.json"
    run.write_text(json.dumps(run_doc("r", [gemm_result(512, noisy(rng, 1e-3, 0.01, 8))])))
    out_file = tmp_path / "pb.json"
    status, _, err = run_main(
        ["export", str(run), "--format", "pytest-benchmark", "--out", str(out_file)], capsys
    )
    assert status == 0 and "wrote" in err
    assert len(json.loads(out_file.read_text())["benchmarks"][0]["stats"]["data"]) == 8
    status, out, _ = run_main(["export", str(run), "--format", "bencher"], capsys)
    assert status == 0 and "latency" in next(iter(json.loads(out).values()))


def test_export_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("[]")
    for args, message in (
        ([str(bad), "--format", "bencher"], "not a Run document"),
        ([str(bad), "--format", "csv"], "'csv' is not one of"),
        (
            [str(bad), "--format", "bencher", "--out", str(tmp_path / "no" / "x.json")],
            "does not exist",
        ),
    ):
        status, out, err = run_main(["export", *args], capsys)
        assert status == 2 and message in err and len(err.strip().splitlines()) == 1
