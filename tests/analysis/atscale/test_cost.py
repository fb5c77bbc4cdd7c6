from __future__ import annotations

import pytest

from exabench.analysis.atscale.cost import (
    cost_section,
    crf,
    network_usd_per_gpu,
    run_cost,
    tco_per_gpu_hour,
)
from exabench.analysis.atscale.params import from_cluster
from exabench.analysis.planner.fabric import size_fabric
from exabench.workloads.clusters import load_cluster

COLOSSUS = load_cluster("colossus-100k")
PARAMS = from_cluster(COLOSSUS, 700.0)


def test_crf() -> None:
    assert crf(0.10, 5) == pytest.approx(0.2638, abs=1e-4)
    assert crf(0.0, 4) == 0.25


def test_reference_base_case_tco() -> None:
    # Base case by hand (docs/at-scale.md, "Cost"): $50k, 5 y, 10 %, $11.7M/MW x 1.275 kW, 15 y,
    # 1.05 kW x 1.2 x $0.065, 3 % opex.
    p = PARAMS.with_values(electricity_usd_per_kwh=0.065)
    tco = tco_per_gpu_hour(p, it_kw_per_gpu=1.05, rated_kw_per_gpu=1.275)
    assert tco["total"] == pytest.approx(1.98, abs=0.01)
    assert tco["systems"] + tco["network"] == pytest.approx(1.50, abs=0.01)


def test_colossus_tco_in_range_and_network_share() -> None:
    fabric = size_fabric(COLOSSUS)
    net = network_usd_per_gpu(PARAMS, fabric)
    assert 5_000 <= net <= 8_000  # reference: network ~$5-7k per GPU, 10-20 % of IT capex
    c = cost_section(PARAMS, gpus=100_000, gpu_hours=1e6, it_w_per_gpu=1066.0, fabric=fabric)
    assert 1.5 <= c["usd_per_gpu_hour"] <= 3.0
    assert c["usd"] == pytest.approx(1e6 * c["usd_per_gpu_hour"]) and c[
        "usd_rented"
    ] == pytest.approx(2e6)
    assert (
        0.10
        <= c["capex_usd"]["network"] / (c["capex_usd"]["systems"] + c["capex_usd"]["network"])
        <= 0.20
    )
    assert c["parts"]["energy"] / c["usd"] < 0.10  # electricity is a small share of TCO


def test_deepseek_v3_cost() -> None:
    assert run_cost(2.788e6, 2.0) == pytest.approx(5.576e6)
