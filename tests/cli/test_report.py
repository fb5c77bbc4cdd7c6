"""`exabench report` end to end through the CLI, including its exit-2 errors."""

from __future__ import annotations

import json

from click.testing import CliRunner

from exabench.cli import cli, main
from exabench.testing import samples


def _invoke(args, capsys):
    try:
        main(args)
    except SystemExit as exit_:
        code = exit_.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_report_from_a_run_and_plans(tmp_path, capsys):
    run = tmp_path / "run.json"
    run.write_text(json.dumps(samples.sample_run(suites=("gemm",), timeline_points=0)))
    for g in (8, 1024):
        (tmp_path / f"plan{g}.json").write_text(json.dumps(samples.sample_plan(gpus=g)))
    code, out, _ = _invoke(
        ["report", str(tmp_path), "--out", str(tmp_path / "rep"), "--no-images"], capsys
    )
    assert code == 0 and "report written to" in out
    page = (tmp_path / "rep" / "report.html").read_text()
    assert 'id="chart-scaling"' in page and 'id="chart-gemm-throughput"' in page


def test_corrupt_or_unknown_version_is_exit_2_one_line(tmp_path, capsys):
    good = tmp_path / "plan.json"
    good.write_text(json.dumps(samples.sample_plan(gpus=8)))
    for name, text in (
        ("corrupt.json", "{oops"),
        ("future.json", json.dumps({"schema": "exabench.run/2"})),
    ):
        bad = tmp_path / name
        bad.write_text(text)
        code, out, err = _invoke(
            ["report", str(good), str(bad), "--out", str(tmp_path / "rep")], capsys
        )
        assert code == 2 and err.count("\n") == 1 and str(bad) in err and "Traceback" not in err
        assert not (tmp_path / "rep").exists()
        bad.unlink()


def test_help_has_examples_and_inputs_are_required():
    result = CliRunner().invoke(cli, ["report", "--help"])
    assert result.exit_code == 0 and "Examples:" in result.output
    result = CliRunner().invoke(cli, ["report"])
    assert result.exit_code == 2
