from __future__ import annotations

from dataclasses import replace

import pytest

from exabench.analysis.planner.comm import Fabric, collective_time, p2p_time, ranks_per_domain
from exabench.analysis.planner.fabric import step_latency_s
from exabench.workloads.clusters import load_cluster
from exabench.workloads.profile import load_reference

H100 = load_reference("h100-sxm")
META = load_cluster("meta-24k-roce")
FAB = Fabric(H100, META)


def test_inside_nvlink_uses_the_busbw_curve_and_nccl_factors() -> None:
    s = 1 << 30
    busbw = H100.nvlink_busbw("all_reduce", s)
    assert collective_time(FAB, "all_reduce", s, 8) == pytest.approx(2 * 7 / 8 * s / busbw)
    ring = H100.nvlink_busbw("all_gather", s)
    assert collective_time(FAB, "all_gather", s, 8) == pytest.approx(7 / 8 * s / ring)
    assert collective_time(FAB, "all_reduce", s, 1) == 0.0


def test_across_nodes_alpha_beta_with_nic_efficiency() -> None:
    s = 1e9
    nic = 50e9 * 0.94 * 0.9  # 400 Gb/s per GPU x NCCL share x fabric efficiency
    t = collective_time(FAB, "reduce_scatter", s, 64, stride=8)  # one rank per node
    assert t == pytest.approx(63 / 64 * s / nic + 63 * 6e-6)
    # Leaving a 3,072-GPU pod: 7:1 oversubscription
    t_big = collective_time(FAB, "reduce_scatter", s, 512, stride=8)
    assert t_big == pytest.approx(511 / 512 * s / (nic / 7) + 511 * 6e-6)


def test_hierarchical_all_reduce() -> None:
    assert (
        ranks_per_domain(FAB, 64, 1) == 8
        and ranks_per_domain(FAB, 64, 8) == 1
        and ranks_per_domain(FAB, 64, 2) == 4
    )
    s = 1e9
    flat = collective_time(FAB, "all_reduce", s, 16, stride=8)
    hier = collective_time(FAB, "all_reduce", s, 16, stride=1)  # 8 per node, 2 nodes
    assert hier < flat


def test_p2p_and_fabric_efficiency() -> None:
    s = 32e6
    assert p2p_time(FAB, s, 1) < p2p_time(FAB, s, 8)
    spectrum = Fabric(H100, load_cluster("colossus-100k"))
    standard = Fabric(
        H100,
        replace(
            load_cluster("colossus-100k"),
            network=replace(spectrum.cluster.network, fabric_efficiency=0.6),
        ),
    )
    assert collective_time(standard, "all_gather", 1e9, 64, 8) > collective_time(
        spectrum, "all_gather", 1e9, 64, 8
    )


def test_a_measured_scaleout_plateau_replaces_the_nic_model() -> None:
    """A profile from a 2-node Run (16 ranks, under one leaf): its all-reduce plateau is the
    per-GPU bandwidth of groups that climb no higher; groups that do add the path efficiency
    (0.9 on this RoCE fabric) and, beyond a 3,072-GPU pod, the 7:1 oversubscription."""
    measured = Fabric(replace(H100, scaleout_gbps=40.0, scaleout_span_gpus=16), META)
    assert measured.nic_bytes_per_s(256) == pytest.approx(40e9)  # still one switch level
    assert measured.nic_bytes_per_s(512) == pytest.approx(40e9 * 0.9)
    assert measured.nic_bytes_per_s(4096) == pytest.approx(40e9 * 0.9 / 7)
    # Faster than the planned NICs' 400 Gb/s per GPU: capped at their line rate.
    assert Fabric(replace(H100, scaleout_gbps=80.0, scaleout_span_gpus=16), META).nic_bytes_per_s(
        16
    ) == pytest.approx(50e9)
    s = 1e9
    t = collective_time(measured, "reduce_scatter", s, 16, stride=8)  # one rank per node, 128 GPUs
    assert t == pytest.approx(15 / 16 * s / 40e9 + 15 * step_latency_s(META, 128))
    assert FAB.nic_bytes_per_s(256) == pytest.approx(
        50e9 * 0.94 * 0.9
    )  # the model, unchanged without a Run
