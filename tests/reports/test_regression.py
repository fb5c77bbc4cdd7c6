"""Text and Markdown renderings of compare and history documents."""

from __future__ import annotations

import numpy as np

from exabench.analysis.regression.comparison import compare_runs
from exabench.analysis.regression.stats import Gate
from exabench.reports.regression import compare_markdown, compare_table, fmt_value, history_table
from exabench.testing.synthetic_runs import gemm_result, gemm_run, noisy, run_doc


def _doc(slowdown: float = 1.10) -> dict:
    rng = np.random.default_rng(0)
    return compare_runs(gemm_run("base", rng, results=2, samples=20),
                        gemm_run("new", rng, results=2, samples=20, slowdown=slowdown), gate=Gate())


def test_fmt_value_units() -> None:
    assert fmt_value(0.0123, "time") == "12.3 ms"
    assert fmt_value(2.5e-7, "time") == "250 ns"
    assert fmt_value(812.3456, "tflops") == "812.3 TFLOP/s"
    assert fmt_value(None, "time") == "-"


def test_markdown_leads_with_the_verdict_and_folds_unchanged_rows() -> None:
    text = compare_markdown(_doc(1.10))
    assert text.splitlines()[0] == "### exabench compare: :x: regression"
    assert "**4 regressed**" in text and "<details>" not in text
    text = compare_markdown(_doc(1.0))
    assert "no change" in text.splitlines()[0] and "<details><summary>4 unchanged</summary>" in text


def test_markdown_escapes_names_from_the_run() -> None:
    rng = np.random.default_rng(1)
    hostile = gemm_result(256, noisy(rng, 1e-3, 0.01, 10))
    hostile["name"] = "a|b<script>"
    other = dict(hostile, samples=noisy(rng, 2e-3, 0.01, 10))
    doc = compare_runs(run_doc("a", [hostile]), run_doc("b", [other]), gate=Gate())
    text = compare_markdown(doc)
    assert "a\\|b&lt;script&gt;" in text and "<script>" not in text


def test_table_flags_throttling_and_gives_the_reason() -> None:
    rng = np.random.default_rng(2)
    base = run_doc("a", [gemm_result(256, noisy(rng, 1e-3, 0.01, 3))])
    new = run_doc("b", [gemm_result(256, noisy(rng, 1e-3, 0.01, 3), telemetry={"throttled": True})])
    text = compare_table(compare_runs(base, new, gate=Gate()))
    assert (
        "THROTTLED(new)" in text and "INCONCLUSIVE" in text and "can't reach significance" in text
    )


def test_history_table_lists_change_points() -> None:
    doc = {
        "runs": 3,
        "p_value": 0.01,
        "permutations": 199,
        "min_size": 3,
        "series": [{
            "suite": "gemm",
            "name": "gemm_bf16",
            "params": {"m": 8},
            "metric": "time",
            "fingerprint": "fp",
            "points": [{"created": "t0", "value": 1e-3}, {"created": "t2", "value": 1.1e-3}],
            "change_points": [{
                "index": 1,
                "run_id": "r1",
                "commit": "abcdef123456",
                "before": 1e-3,
                "after": 1.1e-3,
                "magnitude": 0.1,
                "p_value": 0.005,
                "direction": "regressed",
            }],
        }],
    }
    text = history_table(doc)
    assert "# fingerprint fp: t0 .. t2" in text
    assert "at run 1 (r1, commit abcdef1234): 1 ms -> 1.1 ms (+10.0 %, regressed, p 0.005)" in text
