"""History series: grouping per fingerprint, time order, change points named by run."""

from __future__ import annotations

import numpy as np
import pytest

from exabench.analysis.regression.history import analyse_history, collect_series
from exabench.errors import UserError
from exabench.testing.synthetic_runs import gemm_result, noisy, run_doc


def _history(n: int = 30, step_at: int | None = 20, step: float = 1.05, fingerprint: str = "fp-a",
             seed: int = 0) -> list[dict]:
    rng = np.random.default_rng(seed)
    runs = []
    for i in range(n):
        factor = step if step_at is not None and i >= step_at else 1.0
        runs.append(
            run_doc(
                f"{fingerprint}-run{i:03d}",
                [gemm_result(512, noisy(rng, 1e-3 * factor, 0.01, 10))],
                created=f"2025-01-{1 + i // 24:02d}T{i % 24:02d}:00:00Z",
                fingerprint=fingerprint,
                commit=f"{i:040x}",
            )
        )
    return runs


def test_series_are_ordered_by_time_not_by_input_order() -> None:
    runs = _history(10, step_at=None)
    series = collect_series(list(reversed(runs)))
    assert [p["run_id"] for p in series[0]["points"]] == [r["id"] for r in runs]


def test_one_series_per_metric_and_fingerprint() -> None:
    runs = _history(6, step_at=None, fingerprint="fp-a") + _history(
        4, step_at=None, fingerprint="fp-b"
    )
    series = collect_series(runs)
    assert [(s["fingerprint"], s["metric"], len(s["points"])) for s in series] == [
        ("fp-a", "time", 6), ("fp-a", "tflops", 6), ("fp-b", "time", 4), ("fp-b", "tflops", 4)]
    assert collect_series(runs, metrics=["tflops"])[0]["metric"] == "tflops"


def test_step_is_found_with_its_run_and_direction() -> None:
    doc = analyse_history(_history())
    time_series, tflops_series = doc["series"]
    (cp,) = time_series["change_points"]
    assert cp["index"] == 20 and cp["run_id"] == "fp-a-run020" and cp["commit"] == f"{20:040x}"
    assert cp["after"] / cp["before"] == pytest.approx(1.05, abs=0.015)
    assert cp["magnitude"] == pytest.approx(cp["after"] / cp["before"] - 1)
    assert cp["direction"] == "regressed" and 0 < cp["p_value"] <= 0.01
    # throughput shares the change point, with its own levels and an opposite sign
    (tp,) = tflops_series["change_points"]
    assert tp["index"] == 20 and tp["magnitude"] < 0 and tp["direction"] == "regressed"
    assert set(cp) >= {"index", "run_id", "before", "after", "magnitude", "p_value"}


def test_failed_results_are_left_out_of_the_series() -> None:
    runs = _history(8, step_at=None)
    runs[3]["results"] = [gemm_result(512, [], status="failed")]
    assert len(collect_series(runs)[0]["points"]) == 7


def test_bad_inputs() -> None:
    with pytest.raises(UserError, match="no successful result"):
        analyse_history([run_doc("a", [gemm_result(512, [], status="failed")])])
    with pytest.raises(UserError, match="can never reach"):
        analyse_history(_history(5), p_value=0.001, permutations=99)
