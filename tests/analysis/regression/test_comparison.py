"""Run-level comparison: matching, metrics and directions, failures, fingerprints, throttling."""

from __future__ import annotations

import numpy as np
import pytest

from exabench.analysis.regression.comparison import (
    compare_runs,
    fingerprint_differences,
    overall,
    throttle_flags,
)
from exabench.analysis.regression.stats import Gate
from exabench.analysis.regression.thresholds import parse_rules
from exabench.errors import UserError
from exabench.testing.synthetic_runs import environment, gemm_result, gemm_run, noisy, run_doc


def _pair(slowdown: float = 1.0, results: int = 3, seed: int = 0) -> tuple[dict, dict]:
    rng = np.random.default_rng(seed)
    return (gemm_run("base", rng, results=results, samples=20),
            gemm_run("new", rng, results=results, samples=20, slowdown=slowdown))


def test_rows_per_result_and_metric_with_the_contract_fields() -> None:
    base, new = _pair(1.10)
    doc = compare_runs(base, new, gate=Gate())
    assert doc["verdict"] == "regressed" and doc["counts"]["regressed"] == 6
    assert [r["metric"] for r in doc["results"][:2]] == ["time", "tflops"]
    for row in doc["results"]:
        assert {
            "suite",
            "name",
            "params",
            "metric",
            "base",
            "new",
            "ratio",
            "ci",
            "p_value",
            "verdict",
        } <= set(row)
    time_row, tflops_row = doc["results"][:2]
    assert time_row["ratio"] == pytest.approx(1.10, rel=0.02) and time_row["direction"] == "lower"
    assert (
        tflops_row["ratio"] == pytest.approx(1 / time_row["ratio"])
        and tflops_row["direction"] == "higher"
    )
    assert time_row["ci"][0] < time_row["ratio"] < time_row["ci"][1]


def test_unchanged_and_improved() -> None:
    assert compare_runs(*_pair(1.0), gate=Gate())["verdict"] == "unchanged"
    assert compare_runs(*_pair(0.8), gate=Gate())["verdict"] == "improved"


def test_metric_filter() -> None:
    doc = compare_runs(*_pair(1.0), gate=Gate(), metrics=["tflops"])
    assert {r["metric"] for r in doc["results"]} == {"tflops"}


def test_unmatched_results_are_listed_and_nothing_in_common_is_an_error() -> None:
    base, new = _pair(1.0, results=3)
    new["results"] = new["results"][1:] + [gemm_result(4096, [1e-3] * 10)]
    doc = compare_runs(base, new, gate=Gate())
    assert len(doc["base_only"]) == 1 and "m=256" in doc["base_only"][0]
    assert len(doc["new_only"]) == 1 and "m=4096" in doc["new_only"][0]
    new["results"] = [gemm_result(4096, [1e-3] * 10)]
    with pytest.raises(UserError, match="no benchmark in common"):
        compare_runs(base, new, gate=Gate())


def test_a_result_that_now_fails_is_a_regression_and_skips_are_not_compared() -> None:
    base, new = _pair(1.0, results=3)
    new["results"][0] = gemm_result(256, [], status="failed")
    base["results"][1] = gemm_result(320, [], status="skipped")
    doc = compare_runs(base, new, gate=Gate())
    status_rows = [r for r in doc["results"] if r["metric"] == "status"]
    assert (
        status_rows[0]["verdict"] == "regressed"
        and "fails in the new run" in status_rows[0]["reason"]
    )
    assert doc["verdict"] == "regressed"
    assert doc["not_compared"][0]["reason"] == "skipped in base, ok in new"


def test_everything_skipped_is_an_error() -> None:
    base = run_doc("a", [gemm_result(256, [], status="skipped")])
    new = run_doc("b", [gemm_result(256, [], status="skipped")])
    with pytest.raises(UserError, match="nothing to compare"):
        compare_runs(base, new, gate=Gate())


def test_per_benchmark_threshold_override() -> None:
    base, new = _pair(1.10, results=2)
    rules = parse_rules({"override": [{"name": "gemm_*", "params": {"m": 256}, "threshold": 20}]})
    doc = compare_runs(base, new, gate=Gate(), rules=rules)
    by_size = {r["params"]["m"]: r for r in doc["results"] if r["metric"] == "time"}
    assert by_size[256]["verdict"] == "unchanged" and by_size[256]["threshold_pct"] == 20
    assert by_size[320]["verdict"] == "regressed" and by_size[320]["threshold_pct"] == 5


def test_fingerprint_differences_name_the_fields() -> None:
    a = environment("fp-a", gpu="NVIDIA H100 80GB HBM3", driver="550.54")
    b = environment("fp-b", gpu="NVIDIA A100-SXM4-80GB", driver="550.54", torch="2.5.0")
    fields = {d["field"] for d in fingerprint_differences(a, b)}
    assert fields == {"gpu.devices.name", "software.torch"}
    assert fingerprint_differences(a, a) == []
    c = dict(a, fingerprint="fp-c")  # hash differs, no listed field does
    assert fingerprint_differences(a, c)[0]["field"] == "fingerprint"


def test_throttle_flags_from_telemetry() -> None:
    rng = np.random.default_rng(1)
    hot = gemm_result(
        256,
        noisy(rng, 1e-3, 0.01, 10),
        telemetry={"throttled": True, "throttled_samples": 3, "throttle_reasons": ["SwPowerCap"]},
    )
    assert throttle_flags(hot) == {"throttled": True, "samples": 3, "reasons": ["SwPowerCap"]}
    per_sample = gemm_result(
        256, [1e-3] * 4, telemetry={"throttled_samples": [False, True, True, False]}
    )
    assert throttle_flags(per_sample)["samples"] == 2 and throttle_flags(per_sample)["throttled"]
    assert throttle_flags(gemm_result(256, [1e-3] * 4))["throttled"] is False
    base = run_doc("a", [gemm_result(256, noisy(rng, 1e-3, 0.01, 10))])
    new = run_doc("b", [hot])
    row = compare_runs(base, new, gate=Gate())["results"][0]
    assert row["throttled"]["new"]["throttled"] and not row["throttled"]["base"]["throttled"]


def test_overall_verdict_order() -> None:
    assert overall(["unchanged", "improved", "inconclusive", "regressed"]) == "regressed"
    assert overall(["unchanged", "improved", "inconclusive"]) == "inconclusive"
    assert overall(["unchanged", "improved"]) == "improved"
    assert overall(["unchanged"]) == "unchanged"
