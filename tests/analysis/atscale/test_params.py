from __future__ import annotations

import re
from dataclasses import replace

import pytest

from exabench.analysis.atscale.params import LLAMA3_RATE, check, from_cluster
from exabench.errors import UserError
from exabench.workloads.clusters import load_cluster


def test_cluster_values_and_defaults_with_provenance() -> None:
    p = from_cluster(load_cluster("colossus-100k"), 700.0)
    assert (
        p.pue == 1.2
        and p.gpu_w == 700
        and p.interruptions_per_gpu_hour == pytest.approx(LLAMA3_RATE, rel=0.01)
    )
    assert "colossus-100k" in p.provenance["pue"]["source"]
    assert p.provenance["grid_kg_co2_per_kwh"]["kind"] == "assumed"
    assert {a["name"] for a in p.assumptions()} >= {"pue", "capex_usd_per_gpu", "restart_minutes"}


@pytest.mark.parametrize(
    "name, value, text",
    [
        ("pue", 0.9, ">= 1"),
        ("usd_per_gpu_hour", -1.0, ">= 0"),
        ("storage_write_gbytes_per_s", 0.0, "> 0"),
        ("power_utilisation", 1.5, "(0, 1]"),
    ],
)
def test_out_of_range(name: str, value: float, text: str) -> None:
    with pytest.raises(UserError, match=re.escape(text)):
        check(name, value)


def test_bad_cluster_pue_is_one_line_error() -> None:
    c = load_cluster("dgx-h100")
    with pytest.raises(UserError, match=r"cluster dgx-h100: power.pue = 0.8"):
        from_cluster(replace(c, power={**c.power, "pue": 0.8}), 700.0)
