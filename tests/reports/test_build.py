"""Building a report: everything rendered before anything is written; atomic files."""

from __future__ import annotations

import json
import os

import pytest

from exabench.errors import UserError
from exabench.reports.build import build_report
from exabench.testing import samples


def test_writes_html_markdown_and_both_images_per_chart(tmp_path):
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(samples.sample_plan(gpus=8, uncertainty=False)))
    out = tmp_path / "out"
    paths = build_report([plan], out)
    assert paths[:2] == [out / "report.html", out / "report.md"]
    assert sorted(p.name for p in (out / "charts").iterdir()) == [
        "step-breakdown.png",
        "step-breakdown.svg",
    ]
    assert not [p for p in out.rglob(".*")]  # no temporary files left behind
    assert os.stat(out / "report.html").st_mode & 0o044  # readable by others: a report is shared


def test_bad_input_leaves_previous_report_whole(tmp_path):
    good, bad = tmp_path / "plan.json", tmp_path / "z-bad.json"
    good.write_text(json.dumps(samples.sample_plan(gpus=8)))
    out = tmp_path / "out"
    build_report([good], out, images=False)
    before = (out / "report.html").read_bytes()
    bad.write_text('{"schema": "exabench.run/1", "results": ')
    with pytest.raises(UserError, match="z-bad.json: not valid JSON"):
        build_report([tmp_path], out, images=False)
    assert (out / "report.html").read_bytes() == before
    with pytest.raises(UserError):
        build_report([good, bad], tmp_path / "never", images=False)
    assert not (tmp_path / "never").exists()
