"""Reading report inputs: kinds by content, strict Plan checks, folders, one-line errors."""

from __future__ import annotations

import json

import pytest

from exabench.errors import UserError
from exabench.reports.inputs.documents import load_inputs
from exabench.testing import samples


def _write(path, doc):
    path.write_text(json.dumps(doc) if not isinstance(doc, str) else doc)
    return path


def test_mixed_files_and_folders_are_sorted_into_kinds(tmp_path):
    folder = tmp_path / "runs"
    folder.mkdir()
    _write(folder / "a.json", samples.sample_run(run_id="a"))
    _write(folder / ".a.json.123.tmp.json", "{half")  # an atomic write in progress: skipped
    plan = _write(tmp_path / "plan.json", samples.sample_plan(gpus=64))
    search = _write(
        tmp_path / "search.json",
        {"layouts": [samples.sample_plan(gpus=8), samples.sample_plan(gpus=16)]},
    )
    cmp_ = _write(tmp_path / "cmp.json", samples.sample_comparison(3))
    inputs = load_inputs([folder, plan, search, cmp_, plan])
    assert [d.doc["id"] for d in inputs.runs] == ["a"]
    assert len(inputs.plans) == 3  # the repeated path is read once
    assert inputs.plans[1].source.endswith("#layouts[0]")
    assert len(inputs.comparisons) == 1 and len(inputs) == 5


@pytest.mark.parametrize(("doc", "message"), [
    ("{not json", "not valid JSON"),
    ({"schema": "exabench.plan/2", "inputs": {}, "step_time_s": 1}, "not supported"),
    ({"schema": "exabench.run/7"}, "not supported"),
    ({"schema": "exabench.plan/1", "inputs": {}}, "lacks step_time_s"),
    ({"schema": "exabench.plan/1", "inputs": {}, "step_time_s": "fast"},
     "step_time_s: expected a number, got 'fast'"),
    ({"schema": "exabench.plan/1", "inputs": {}, "step_time_s": 1, "cost": 5},
     "cost: expected an object, got 5"),
    ({"schema": "something/1"}, "unknown document schema"),
    ([1, 2], "not a Run, Plan or comparison"),
    ({"verdict": "unchanged", "results": [{}]}, "lacks 'ratio'"),
])
def test_bad_file_is_one_line_naming_it(tmp_path, doc, message):
    bad = _write(tmp_path / "bad.json", doc)
    with pytest.raises(UserError) as info:
        load_inputs([bad])
    assert str(bad) in info.value.message and message in info.value.message
    assert "\n" not in info.value.message


def test_missing_path_and_empty_folder(tmp_path):
    with pytest.raises(UserError, match="no such file or folder"):
        load_inputs([tmp_path / "nope.json"])
    with pytest.raises(UserError, match="holds no .json"):
        load_inputs([tmp_path])
