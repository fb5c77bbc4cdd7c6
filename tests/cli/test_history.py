"""``exabench history`` and ``exabench export`` end to end, and their bad inputs."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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


# --- pytest-benchmark JSON as input (issue 19 defect 5) --------------------------------------

def pytest_benchmark_folder(folder: Path, n: int = 24, step_at: int = 16) -> Path:
    """A pytest-benchmark storage folder (``.benchmarks/<machine>/NNNN_<name>.json``) of the
    exports of :func:`history_folder`'s Runs: a 6 % step at file ``step_at``."""
    runs = history_folder(folder.parent / f"{folder.name}-runs", n, step_at)
    machine = folder / "Linux-CPython-3.11-64bit"
    machine.mkdir(parents=True)
    for i, run in enumerate(sorted(runs.glob("*.json"))):
        status, _, err = run_main_quiet(["export", str(run), "--format", "pytest-benchmark",
                                         "--out", str(machine / f"{i + 1:04d}_ci.json")])
        assert status == 0, err
    return folder


def run_main_quiet(args: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(args)
            code = 0
        except SystemExit as end:
            code = end.code if isinstance(end.code, int) else 1
    return code, out.getvalue(), err.getvalue()


def test_history_over_pytest_benchmark_files_finds_the_planted_step(tmp_path: Path) -> None:
    folder = pytest_benchmark_folder(tmp_path / ".benchmarks")
    status, out, err = run_main_quiet(["history", str(folder), "--format", "json"])
    assert status == 0, err
    doc = json.loads(out)
    assert doc["runs"] == 24
    time_series = doc["series"][0]
    assert time_series["suite"] == "pytest-benchmark" and time_series["metric"] == "time"
    assert time_series["name"].startswith("exabench/gemm::gemm_bf16[m=512-n=512")
    assert time_series["params"]["m"] == 512 and len(time_series["points"]) == 24
    (cp,) = time_series["change_points"]
    assert cp["run_id"] == "0017_ci" and cp["index"] == 16 and cp["direction"] == "regressed"
    status, out, _ = run_main_quiet(["history", str(folder), "--changes-only"])
    assert status == 0 and "0017_ci" in out


def test_history_of_pytest_benchmark_files_without_raw_samples_is_one_line_exit_2(
    tmp_path: Path,
) -> None:
    folder = pytest_benchmark_folder(tmp_path / ".benchmarks", n=4)
    saved = next(folder.rglob("0002_ci.json"))
    doc = json.loads(saved.read_text())
    del doc["benchmarks"][0]["stats"]["data"]
    saved.write_text(json.dumps(doc))
    status, out, err = run_main_quiet(["history", str(folder)])
    assert status == 2 and out == "" and err.count("\n") == 1
    assert str(saved) in err and "no raw samples" in err and "--benchmark-save-data" in err


def test_history_names_the_formats_it_reads(tmp_path: Path) -> None:
    folder = history_folder(tmp_path / "runs", n=4)
    (folder / "notes.json").write_text('{"owner": "perf team"}')
    status, out, err = run_main_quiet(["history", str(folder)])
    assert status == 2 and out == "" and err.count("\n") == 1
    assert "notes.json" in err and "exabench.run/1" in err and "pytest-benchmark" in err


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(doc=st.dictionaries(
    st.one_of(st.sampled_from(["benchmarks", "schema", "datetime", "machine_info"]),
              st.text(max_size=5)),
    st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=5)),
                 lambda inner: st.one_of(st.lists(inner, max_size=3),
                                         st.dictionaries(st.text(max_size=5), inner,
                                                         max_size=3)),
                 max_leaves=8),
    max_size=4))
def test_arbitrary_json_objects_in_the_folder_never_give_a_traceback(
    tmp_path: Path, doc: dict
) -> None:
    folder = tmp_path / "fuzz"
    folder.mkdir(exist_ok=True)
    (folder / "any.json").write_text(json.dumps(doc))
    status, out, err = run_main_quiet(["history", str(folder), "--permutations", "99"])
    assert status == 2 and out == "" and err.count("\n") == 1, (doc, err)
    assert "any.json" in err and "Traceback" not in err
