"""`exabench validate`: the JSON keys, the table's columns and summary lines (not the accuracy
itself, which moves with the planner and the published runs)."""

from __future__ import annotations

import json

import pytest

from exabench.cli import main
from exabench.commands.validate import _fit, render_table


def run(capsys, *args: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exit_:
        main(list(args))
    out, _ = capsys.readouterr()
    return exit_.value.code, out


def test_json_has_the_loso_and_interval_keys(capsys) -> None:
    code, out = run(capsys, "validate", "--format", "json")
    report = json.loads(out)
    assert code == 0
    assert {"rows", "median_abs_error", "max_abs_error", "loso", "interval"} <= set(report)
    assert {"id", "source", "metric", "published", "predicted", "error", "group", "loso_error",
            "p10", "p90", "inside"} <= set(report["rows"][0])
    loso = report["loso"]
    assert {"median_abs_error", "max_abs_error", "sources", "by_source", "fitted"} <= set(loso)
    assert {"source", "rows", "median_abs_error", "max_abs_error", "bias"} <= set(
        loso["by_source"][0])
    assert {"p10_ratio", "p90_ratio", "coverage", "rows"} <= set(report["interval"])


def test_table_columns_summary_lines_and_width(capsys) -> None:
    code, out = run(capsys, "validate")
    lines = out.splitlines()
    assert code == 0 and max(len(line) for line in lines) < 100
    assert lines[0].split() == ["id", "group", "metric", "published", "predicted", "error",
                                "LOSO", "err", "P10-P90"]
    assert any(line.split()[:5] == ["source", "rows", "median", "|err|", "max"] for line in lines)
    assert any(line.startswith("median |error| ") and " published runs from " in line
               for line in lines)
    assert any(line.startswith("leave-one-source-out: median |error| ") for line in lines)
    assert any(line.startswith("P10-P90 holds the published value for ") for line in lines)


REPORT = {
    "rows": [
        {"id": "a-very-long-row-identifier-that-goes-on-and-on", "group": "g" * 30,
         "metric": "step_time_s", "published": 2.0, "predicted": 1.9, "error": -0.05,
         "loso_error": -0.1, "p10": 1.8, "p90": 2.4, "inside": True},
        {"id": "b", "group": "h", "metric": "mfu", "published": 0.4, "predicted": 0.5,
         "error": 0.25, "loso_error": 0.25, "p10": None, "p90": None, "inside": None},
    ],
    "median_abs_error": 0.15,
    "max_abs_error": 0.25,
    "loso": {
        "median_abs_error": 0.175, "max_abs_error": 0.25, "sources": 2,
        "by_source": [
            {"source": "g" * 30, "rows": 1, "median_abs_error": 0.1, "max_abs_error": 0.1,
             "bias": -0.1},
            {"source": "h", "rows": 1, "median_abs_error": 0.25, "max_abs_error": 0.25,
             "bias": 0.25},
        ],
        "fitted": [{"name": "k", "value_all": 1.5, "values_by_held_out_source": {},
                    "source": "test"}],
    },
    "interval": {"p10_ratio": 0.9, "p50_ratio": 1.0, "p90_ratio": 1.1, "coverage": 1.0,
                 "inside": 1, "rows": 1},
}


def test_render_table_by_hand() -> None:
    lines = render_table(REPORT)
    assert max(len(line) for line in lines) < 100
    first = lines[1].split()
    assert "~" in first[0] and first[2:] == ["step", "2", "1.9", "-5.0%", "-10.0%", "1.8-2.4"]
    assert lines[2].split()[-1] == "-"  # no interval without another source
    assert "median |error| 15.0%, max |error| 25.0% over 2 published runs from 2 sources" in lines
    assert "leave-one-source-out: median |error| 17.5%, max 25.0%" in lines
    assert "P10-P90 holds the published value for 1 of 1 rows (100%)" in lines
    assert "fitted k = 1.5 on all rows (test)" in lines
    assert any(line.split() == ["h", "1", "25.0%", "25.0%", "+25.0%"] for line in lines)


def test_fit_keeps_both_ends() -> None:
    assert _fit("short", 10) == "short"
    cut = _fit("llama3-405b-16k-gpus-128k-seq", 15)
    assert len(cut) == 15 and cut.startswith("llama3-") and cut.endswith("28k-seq")
