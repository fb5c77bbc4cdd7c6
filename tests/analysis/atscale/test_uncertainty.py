from __future__ import annotations

import numpy as np
import pytest

from exabench.analysis.atscale.params import from_cluster
from exabench.analysis.atscale.uncertainty import (
    RANGES,
    bounds,
    outcomes,
    spearman,
    uncertainty_section,
)
from exabench.workloads.clusters import load_cluster

PARAMS = from_cluster(load_cluster("colossus-100k"), 700.0)
BASE = {
    "gpus": 98_304,
    "ideal_hours": 13 * 24,
    "checkpoint_bytes": 5.67e12,
    "power_utilisation": 0.76,
    "it_w_per_gpu": 1066.0,
    "rated_kw_per_gpu": 1.4025,
    "dc_life_years": 15.0,
    "opex_fraction": 0.03,
}


def test_every_range_has_a_source_and_pue_stays_physical() -> None:
    assert all(r[3] for r in RANGES.values())
    lo, mode, hi = bounds(PARAMS, "pue")
    assert lo >= 1.0 and lo < mode < hi


def test_percentiles_bracket_the_central_value_and_are_deterministic() -> None:
    a = uncertainty_section(PARAMS, BASE, draws=10_000, seed=0)
    b = uncertainty_section(PARAMS, BASE, draws=10_000, seed=0)
    assert a["days"] == b["days"]
    central = outcomes({k: np.array([bounds(PARAMS, k)[1]]) for k in RANGES}, BASE)
    for metric in ("days", "facility_mw", "usd"):
        q = a[metric]
        assert q["p10"] < q["p50"] < q["p90"]
        assert q["p10"] < float(central[metric][0]) < q["p90"]


def test_sensitivity_ranking() -> None:
    sens = uncertainty_section(PARAMS, BASE, draws=5000)["sensitivity"]
    swings = [abs(s["high"] - s["low"]) for s in sens]
    assert swings == sorted(swings, reverse=True)
    mw = [s["input"] for s in sens if s["metric"] == "facility_mw"]
    assert mw[0] == "power_utilisation" and "electricity_usd_per_kwh" not in mw
    days = {s["input"]: s for s in sens if s["metric"] == "days"}
    assert days["interruptions_per_gpu_hour"]["rho"] > 0 and days["efficiency"]["rho"] < 0


def test_spearman() -> None:
    x = np.arange(100.0)
    assert spearman(x, x**3) == pytest.approx(1.0) and spearman(x, -x) == pytest.approx(-1.0)


def test_efficiency_range_comes_from_the_shipped_accuracy_file() -> None:
    from exabench.analysis.atscale.uncertainty import efficiency_range
    from exabench.workloads.accuracy import Accuracy, load_accuracy

    acc = load_accuracy()
    mode, lo, hi, source = RANGES["efficiency"]
    assert (mode, lo, hi) == ("rel", min(acc.p10, 1.0), max(acc.p90, 1.0))
    assert "workloads/accuracy.toml" in source and "leave-one-source-out" in source
    assert bounds(PARAMS, "efficiency") == (lo, 1.0, hi)
    inside = efficiency_range(Accuracy(0.7, 0.95, 1.1, rows=10, sources=3, source="s"))
    assert inside == ("rel", 0.7, 1.1, "workloads/accuracy.toml, s")
    # The triangular draw has its mode at the plan's value (1): a range that misses it is widened.
    _, lo, hi, source = efficiency_range(Accuracy(0.7, 0.8, 0.9, rows=10, sources=3, source="s"))
    assert (lo, hi) == (0.7, 1.0) and "widened" in source
