from __future__ import annotations

from dataclasses import replace

import pytest

from exabench.analysis.planner.comm import Fabric, collective_scaling
from exabench.analysis.planner.fabric import (
    endpoints,
    levels_crossed,
    size_fabric,
    step_latency_s,
    tiers_needed,
)
from exabench.workloads.clusters import load_cluster
from exabench.workloads.collectives import BUSBW_FACTOR
from exabench.workloads.profile import load_reference

COLOSSUS = load_cluster("colossus-100k")


def test_fat_tree_capacity_and_tiers() -> None:
    assert (endpoints(64, 2), endpoints(64, 3), endpoints(128, 3)) == (2048, 65_536, 524_288)
    assert (
        tiers_needed(100_000, 128) == 3
        and tiers_needed(100_000, 64) == 4
        and tiers_needed(2048, 64) == 2
    )


def test_colossus_fabric_counts() -> None:
    f = size_fabric(COLOSSUS)
    assert (f.tiers, f.radix, f.nodes) == (3, 128, 12_500)
    assert f.switches == 3907  # 5N/k = 5 x 100,000 / 128 (docs/at-scale.md: ~3,900)
    assert f.links == 300_000 and f.optics == 600_000  # 3 cable hops, 6 optics ends per GPU
    assert f.bisection_tbps == pytest.approx(100_000 / 2 * 50 / 1e3)


def test_oversubscription_cuts_upper_links() -> None:
    meta = load_cluster("meta-24k-roce")
    full, over = size_fabric(meta, 3072), size_fabric(meta)
    assert full.oversubscription == 1.0 and over.oversubscription == 7.0
    assert over.links < 3 * over.gpus and over.bisection_tbps == pytest.approx(
        24_576 / 2 * 50 / 7 / 1e3
    )


def test_levels_and_latency_grow_with_span() -> None:
    assert levels_crossed(COLOSSUS, 8) == 0
    assert levels_crossed(COLOSSUS, 512) == 1  # 64 nodes under one radix-128 leaf
    assert levels_crossed(COLOSSUS, 8 * 4096) == 2 and levels_crossed(COLOSSUS, 100_000) == 3
    lat = [step_latency_s(COLOSSUS, n) for n in (16, 4096, 100_000)]
    assert lat[0] < lat[1] < lat[2] and lat[1] == pytest.approx(6e-6)


def test_collective_at_100k_is_not_the_1k_number() -> None:
    fabric = Fabric(load_reference("h100-sxm"), COLOSSUS)
    rows = collective_scaling(fabric, "all_reduce", 1e9, [2, 128, 12_288])
    times = [r["time_s"] for r in rows]
    assert times[0] < times[1] < times[2]
    assert rows[-1]["levels"] == 3 and rows[1]["levels"] == 2
    ideal = BUSBW_FACTOR["all_reduce"](12_288) * 1e9 / (50e9 * 0.94 * 0.95)
    assert times[2] > ideal  # latency steps on top of the bandwidth term


def test_oversubscribed_group_is_slower() -> None:
    fabric = Fabric(
        load_reference("h100-sxm"),
        replace(COLOSSUS, network=replace(COLOSSUS.network, pod_gpus=4096, oversubscription=4.0)),
    )
    inside, outside = fabric.nic_bytes_per_s(4096), fabric.nic_bytes_per_s(8192)
    assert outside == pytest.approx(inside / 4)
