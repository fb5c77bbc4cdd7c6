"""`exabench report fleet.json` end to end through the CLI: the file, the folder, and a
malformed summary refused in one line (exit 2) before anything is written."""

from __future__ import annotations

import json

import pytest

from exabench.cli import main
from exabench.testing.samples_fleet import sample_fleet, write_fleet


def _invoke(args, capsys):
    try:
        main(args)
        code = 0
    except SystemExit as exit_:
        code = exit_.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(scope="module")
def fleet_json(tmp_path_factory):
    return write_fleet(tmp_path_factory.mktemp("fleet"), sample_fleet())


def test_report_from_fleet_json(fleet_json, tmp_path, capsys):
    code, out, err = _invoke(
        ["report", str(fleet_json), "--out", str(tmp_path / "rep"), "--no-images"], capsys
    )
    assert code == 0 and "report written to" in out, err
    text = (tmp_path / "rep" / "report.md").read_text()
    assert "## Fleet screening" in text and "64 GPUs (one rank each) on 8 nodes" in text
    assert "| 13 | node-001 | 5 |" in text and "the summary's own (64 GPUs)" in text
    page = (tmp_path / "rep" / "report.html").read_text()
    assert 'id="chart-fleet-relative"' in page and '<section id="fleet">' in page


def test_report_from_the_fleet_folder(fleet_json, tmp_path, capsys):
    code, _, err = _invoke(
        ["report", str(fleet_json.parent), "--out", str(tmp_path / "rep"), "--no-images"], capsys
    )
    assert code == 0, err
    text = (tmp_path / "rep" / "report.md").read_text()
    assert "65 Runs, 0 Plans, 1 fleet summary" in text and "## Fleet screening" in text


@pytest.mark.parametrize(("change", "says"), [
    (lambda d: d["figures"][0].update(n="many"), "figures[0].n must be a whole number"),
    (lambda d: d.update(schema="exabench.fleet/9"), "'exabench.fleet/9' is not supported"),
])
def test_a_malformed_fleet_file_is_exit_2_one_line(fleet_json, tmp_path, capsys, change, says):
    doc = json.loads(fleet_json.read_text())
    change(doc)
    bad = tmp_path / "fleet.json"
    bad.write_text(json.dumps(doc))
    code, out, err = _invoke(["report", str(bad), "--out", str(tmp_path / "rep")], capsys)
    assert (
        code == 2
        and err.count("\n") == 1
        and says in err
        and str(bad) in err
        and "Traceback" not in err
    )
    assert not (tmp_path / "rep").exists()
