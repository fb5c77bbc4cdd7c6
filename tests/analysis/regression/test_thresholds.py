"""The per-benchmark thresholds file."""

from __future__ import annotations

import pytest

from exabench.analysis.regression.stats import Gate
from exabench.analysis.regression.thresholds import parse_rules
from exabench.errors import UserError

PARAMS = {"m": 128, "n": 128, "k": 128, "dtype": "fp64"}


def test_later_overrides_win_key_by_key() -> None:
    rules = parse_rules({"threshold": 4, "max_cv": 8, "override": [
        {"suite": "gemm", "threshold": 10, "max_cv": 20},
        {"name": "gemm_fp64", "params": {"m": 128}, "threshold": 15},
        {"name": "other", "threshold": 99},
    ]})
    assert rules.threshold == 4 and rules.max_cv == 8
    gate = rules.gate_for(Gate(), "gemm", "gemm_fp64", PARAMS)
    assert gate.threshold == pytest.approx(0.15) and gate.max_cv == pytest.approx(0.20)
    gate = rules.gate_for(Gate(), "gemm", "gemm_fp32", PARAMS)
    assert gate.threshold == pytest.approx(0.10)
    assert rules.gate_for(Gate(), "memory", "triad", {}) == Gate()


def test_params_must_all_match() -> None:
    rules = parse_rules({"override": [{"params": {"m": 128, "dtype": "bf16"}, "threshold": 50}]})
    assert rules.gate_for(Gate(), "gemm", "gemm_fp64", PARAMS) == Gate()


@pytest.mark.parametrize("doc,message", [
    ({"treshold": 5}, "unknown key 'treshold'"),
    ({"threshold": "5%"}, "threshold = '5%' is not valid"),
    ({"threshold": -1}, "percentage from 0 to 1000"),
    ({"override": {"name": "x"}}, "array of tables"),
    ({"override": [{"name": "x"}]}, "sets neither threshold nor max_cv"),
    ({"override": [{"name": "x", "threshold": 5, "metric": "time"}]}, "unknown key 'metric'"),
    ({"override": [{"name": "", "threshold": 5}]}, "non-empty glob"),
    ({"override": [{"params": [1], "threshold": 5}]}, "params must be a table"),
])
def test_errors_quote_what_is_wrong(doc: dict, message: str) -> None:
    with pytest.raises(UserError, match=message):
        parse_rules(doc, source="t.toml")
