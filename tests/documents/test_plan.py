"""The Plan document: checked into a typed Plan, written back byte for byte, refused in one line."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from exabench.cli import cli
from exabench.documents.plan import SCHEMA, check_plan, load_plan, plan_to_json
from exabench.errors import UserError
from exabench.testing import samples


def _write(path, doc):
    path.write_text(json.dumps(doc) if not isinstance(doc, str) else doc)
    return path


def test_load_plan_round_trip(tmp_path):
    plan = samples.sample_plan(gpus=8)
    assert load_plan(_write(tmp_path / "p.json", plan)) == plan
    with pytest.raises(UserError, match="not a Plan"):
        check_plan(samples.sample_run(), source="x")


def test_a_printed_plan_reads_back_and_prints_the_same_text():
    """``exabench plan --format json`` output is a Plan; check_plan then plan_to_json gives
    back the very text the command printed."""
    result = CliRunner().invoke(cli, ["plan", "--model", "llama3-8b", "--gpus", "8",
                                      "--format", "json"])
    assert result.exit_code == 0, result.output
    printed = result.output
    plan = check_plan(json.loads(printed), source="stdout")
    assert plan["schema"] == SCHEMA and plan["step_time_s"] > 0
    assert plan_to_json(plan) + "\n" == printed


@pytest.mark.parametrize(("doc", "message"), [
    ("{not json", "not valid JSON"),
    ({"schema": "exabench.plan/2", "inputs": {}, "step_time_s": 1}, "not supported"),
    ({"schema": "exabench.plan/1", "inputs": {}}, "lacks step_time_s"),
    ({"schema": "exabench.plan/1", "inputs": {}, "step_time_s": True},
     "step_time_s: expected a number, got true"),
    ({"schema": "exabench.plan/1", "inputs": [], "step_time_s": 1},
     "inputs: expected an object, got a list of 0"),
    ([1], "not a Plan document"),
])
def test_a_bad_plan_is_one_line_naming_the_file(tmp_path, doc, message):
    bad = _write(tmp_path / "bad.json", doc)
    with pytest.raises(UserError) as info:
        load_plan(bad)
    assert str(bad) in info.value.message and message in info.value.message
    assert "\n" not in info.value.message
