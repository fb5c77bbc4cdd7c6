from __future__ import annotations

import math

import numpy as np
import pytest

from exabench.analysis.validate import FITTED, Fitted, quantile, throughput_residual, validate
from exabench.commands.validate import published_pairs
from exabench.workloads.published import PublishedRun

LOG2 = math.log(2.0)


def run(id_: str, group: str, published: float, metric: str = "hw_tflops_per_gpu") -> PublishedRun:
    return PublishedRun(id=id_, source=f"source of {group}", group=group, model="m", hardware="h",
                        cluster="c", gpus=8, metric=metric, published=published)


def scaled(ctx: dict, run: PublishedRun) -> float:
    """A Context-free planner: the row's base value times the fitted factor ``k`` (default 1)."""
    return ctx["base"] * ctx.get("k", 1.0)


FACTOR = Fitted("k", (1.0, 2.0, 4.0), lambda ctx, v: {**ctx, "k": v}, "a test factor")


def test_loso_refits_without_the_held_out_source() -> None:
    # A's three rows need k = 2 (base = published / 2); B's and C's one row each need k = 1.
    pairs = [(run(f"a{i}", "A", 100.0), {"base": 50.0}) for i in range(3)]
    pairs += [(run("b", "B", 100.0), {"base": 100.0}), (run("c", "C", 100.0), {"base": 100.0})]
    report = validate(pairs, fitted=(FACTOR,), predictor=scaled)
    # All rows: k = 2 gives |log| errors [0, 0, 0, log2, log2] (median 0), k = 1 median log2.
    # Without A: B and C alone -> k = 1; without B (or C): A's three rows dominate -> k = 2.
    [fit] = report["loso"]["fitted"]
    assert fit["name"] == "k" and fit["value_all"] == 2.0 and fit["source"] == "a test factor"
    assert fit["values_by_held_out_source"] == {"A": 1.0, "B": 2.0, "C": 2.0}
    rows = {r["id"]: r for r in report["rows"]}
    assert [rows[k]["error"] for k in ("a0", "a1", "a2", "b", "c")] == [0, 0, 0, 1.0, 1.0]
    # A predicted with k = 1 (50 vs 100): -50 %; B and C with k = 2 (200 vs 100): +100 %.
    assert [rows[k]["loso_error"] for k in ("a0", "a1", "a2", "b", "c")] == [
        -0.5, -0.5, -0.5, 1.0, 1.0]
    assert report["median_abs_error"] == 0.0 and report["max_abs_error"] == 1.0
    loso = report["loso"]
    assert loso["median_abs_error"] == 0.5 and loso["max_abs_error"] == 1.0 and loso["sources"] == 3
    assert loso["by_source"] == [
        {"source": "A", "rows": 3, "median_abs_error": 0.5, "max_abs_error": 0.5, "bias": -0.5},
        {"source": "B", "rows": 1, "median_abs_error": 1.0, "max_abs_error": 1.0, "bias": 1.0},
        {"source": "C", "rows": 1, "median_abs_error": 1.0, "max_abs_error": 1.0, "bias": 1.0},
    ]


def test_each_row_is_predicted_once_per_grid_point() -> None:
    calls: list[tuple[str, float]] = []

    def counting(ctx: dict, r: PublishedRun) -> float:
        calls.append((r.id, ctx.get("k", 0.0)))
        return scaled(ctx, r)

    pairs = [(run(f"r{i}", f"g{i % 3}", 10.0 + i), {"base": 10.0}) for i in range(6)]
    validate(pairs, fitted=(FACTOR,), predictor=counting)
    assert len(calls) == len(set(calls)) <= 6 * 3
    calls.clear()
    validate(pairs, fitted=(), predictor=counting)
    assert sorted(calls) == sorted((r.id, 0.0) for r, _ in pairs)  # no fit: once per row


def test_without_fitted_parameters_loso_is_the_plain_error() -> None:
    assert FITTED == ()
    pairs = [(run(f"r{i}", f"g{i % 2}", 100.0), {"base": 80.0 + 10 * i}) for i in range(4)]
    report = validate(pairs, predictor=scaled)
    for row in report["rows"]:
        assert row["loso_error"] == row["error"] == (row["predicted"] - 100.0) / 100.0
    assert report["loso"]["fitted"] == []
    assert report["loso"]["median_abs_error"] == report["median_abs_error"]


def test_interval_uses_only_the_other_sources_residuals() -> None:
    # Five sources, one row each, published 100, residual s = log(published / predicted).
    s = [-0.2, -0.1, 0.0, 0.1, 0.3]
    pairs = [(run(f"r{i}", f"g{i}", 100.0), {"base": 100.0 * math.exp(-x)})
             for i, x in enumerate(s)]
    report = validate(pairs, predictor=scaled)
    # Row 0: the others' residuals [-0.1, 0, 0.1, 0.3]; q10 at position 0.3 of 3 -> -0.1 + 0.3 *
    # 0.1 = -0.07; q90 at position 2.7 -> 0.1 + 0.7 * 0.2 = 0.24.
    row = report["rows"][0]
    predicted = 100.0 * math.exp(0.2)
    assert row["p10"] == pytest.approx(predicted * math.exp(-0.07))
    assert row["p90"] == pytest.approx(predicted * math.exp(0.24))
    assert row["inside"] is False  # 100 < 122.14 * exp(-0.07) = 113.9
    # Row 2 (s = 0, others [-0.2, -0.1, 0.1, 0.3]): q10 = -0.17, q90 = 0.1 + 0.7 * 0.2 = 0.24.
    row = report["rows"][2]
    assert (row["p10"], row["p90"]) == pytest.approx((100 * math.exp(-0.17), 100 * math.exp(0.24)))
    assert row["inside"] is True
    expected = []
    for i, x in enumerate(s):
        others = [y for j, y in enumerate(s) if j != i]
        q10, q90 = np.quantile(others, [0.1, 0.9])
        expected.append(q10 <= x <= q90)  # published inside <=> own residual inside
    assert [r["inside"] for r in report["rows"]] == expected == [False, True, True, True, False]
    interval = report["interval"]
    assert interval["coverage"] == pytest.approx(3 / 5) and interval["rows"] == 5
    assert interval["inside"] == 3
    # Global ratios: quantiles of all five residuals, q10 at position 0.4 -> -0.2 + 0.4 * 0.1.
    assert interval["p10_ratio"] == pytest.approx(math.exp(-0.16))
    assert interval["p50_ratio"] == pytest.approx(1.0)
    assert interval["p90_ratio"] == pytest.approx(math.exp(0.1 + 0.6 * 0.2))


def test_step_time_residuals_are_inverted() -> None:
    # Planner 10 % optimistic on both: throughput 110 vs 100, step time 1 vs 1.1.
    assert throughput_residual("hw_tflops_per_gpu", 100.0, 110.0) == pytest.approx(
        throughput_residual("step_time_s", 1.1, 1.0))
    pairs = [
        (run("tf", "A", 100.0), {"base": 110.0}),
        (run("t1", "B", 1.1, "step_time_s"), {"base": 1.0}),
        (run("t2", "C", 1.1, "step_time_s"), {"base": 1.0}),
    ]
    report = validate(pairs, predictor=scaled)
    # Every residual is log(100 / 110): the ratios collapse onto 100/110 and each row's interval
    # is a point on the published value (step time: predicted / (100/110) = 1.1).
    interval = report["interval"]
    assert interval["p10_ratio"] == pytest.approx(100 / 110) == interval["p90_ratio"]
    for row in report["rows"]:
        assert row["p10"] == pytest.approx(row["published"]) == row["p90"]


def test_one_source_has_no_out_of_source_interval() -> None:
    pairs = [(run(f"r{i}", "only", 100.0), {"base": 90.0}) for i in range(2)]
    report = validate(pairs, fitted=(FACTOR,), predictor=scaled)
    assert all(r["p10"] is None and r["inside"] is None for r in report["rows"])
    assert report["interval"]["coverage"] is None and report["interval"]["rows"] == 0
    # Nothing to refit on without the only source: the first candidate.
    assert report["loso"]["fitted"][0]["values_by_held_out_source"] == {"only": 1.0}


def test_empty() -> None:
    report = validate([], predictor=scaled)
    assert report["rows"] == [] and report["median_abs_error"] is None
    assert report["loso"]["sources"] == 0 and report["interval"]["p10_ratio"] is None


def test_quantile_is_linear_between_order_statistics() -> None:
    assert quantile([3.0, 1.0, 2.0, 4.0], 0.1) == pytest.approx(1.3)
    assert quantile([3.0, 1.0, 2.0, 4.0], 0.9) == pytest.approx(3.7)


def test_report_on_the_shipped_published_runs_has_every_key() -> None:
    """Keys and internal consistency only: the accuracy itself moves as the planner changes."""
    report = validate(published_pairs())
    assert {"rows", "median_abs_error", "max_abs_error", "loso", "interval"} <= set(report)
    for row in report["rows"]:
        assert {"id", "source", "group", "metric", "published", "predicted", "error",
                "loso_error", "p10", "p90", "inside"} <= set(row)
        assert row["error"] == (row["predicted"] - row["published"]) / row["published"]
        assert row["loso_error"] == row["error"]  # FITTED is empty
        assert row["p10"] <= row["p90"]
        assert row["inside"] == (row["p10"] <= row["published"] <= row["p90"])
    loso = report["loso"]
    assert {"median_abs_error", "max_abs_error", "sources", "by_source", "fitted"} <= set(loso)
    assert loso["sources"] == len({r["group"] for r in report["rows"]}) >= 4
    assert sum(s["rows"] for s in loso["by_source"]) == len(report["rows"])
    interval = report["interval"]
    assert {"p10_ratio", "p90_ratio", "coverage", "rows"} <= set(interval)
    assert 0 < interval["p10_ratio"] <= interval["p90_ratio"]
    assert interval["coverage"] == sum(r["inside"] for r in report["rows"]) / len(report["rows"])
