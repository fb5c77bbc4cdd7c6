"""The scale-out fabric at N GPUs: a rail-optimised fat tree sized from the switch radix, and
what a collective group sees in it (switch levels crossed, bandwidth share, per-step latency).

Sizing (standard Clos arithmetic; the at-scale model in docs/at-scale.md). Rail-optimised:
NIC r of every node goes to rail r's tree, so each rail is a fat tree whose endpoints are the
nodes, and the rails together hold one endpoint per NIC. With radix k a t-tier non-blocking fat
tree connects ``2 (k/2)^t`` endpoints (k, k^2/2, k^3/4, ...), needs ``(2t - 1) E / k`` switches
for E endpoints (5N/k in three tiers: NVIDIA's SuperPOD count table) and ``t E`` links; every
switch-to-switch link and the NIC link are optical, two transceiver ends each (up to 6 per GPU
in three tiers). Above a pod, ``oversubscription`` divides the upper links and the bandwidth.

Collectives (used by :mod:`exabench.analysis.planner.comm` for every inter-node DP / CP / EP / PP
transfer, so a 100k-GPU group is not priced as a 1k-GPU one):

- levels crossed by a group spanning n nodes: 1 under one leaf (n <= k/2), 2 inside a pod
  (n <= (k/2)^2), ... up to the fabric's tiers;
- bandwidth share: the cluster's ``fabric_efficiency`` for any inter-node group (see
  :func:`path_efficiency`), divided by ``oversubscription`` once the group leaves a pod;
- latency per algorithm step: the cluster's ``latency_us`` for a group inside one pod, two
  switch hops (``SWITCH_HOP_US``) more per level above, two fewer under one leaf; the number of
  steps (ring ``n - 1``, tree ``2 log2 n``) grows with the node count in comm.py.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from exabench.workloads.clusters import ClusterSpec

SWITCH_HOP_US = 0.6
"""Assumed port-to-port latency of one switch traversal plus cable, microseconds (Spectrum-4 /
Quantum-2 class cut-through switches are quoted at a few hundred ns; cable ~5 ns/m)."""
OPTIC_ENDS_PER_LINK = 2


def endpoints(radix: int, tiers: int) -> int:
    """Endpoints of a non-blocking fat tree of ``tiers`` levels of ``radix``-port switches."""
    return radix if tiers <= 1 else 2 * (radix // 2) ** tiers


def tiers_needed(n_endpoints: int, radix: int) -> int:
    """Fewest fat-tree tiers that connect ``n_endpoints`` without oversubscription."""
    t = 1
    while endpoints(radix, t) < n_endpoints:
        t += 1
    return t


@dataclass(kw_only=True, frozen=True)
class FabricSize:
    gpus: int
    nodes: int
    rails: int
    """NICs per node: one fat tree per rail."""
    radix: int
    tiers: int
    oversubscription: float
    switches: int
    links: int
    """Cables: NIC-leaf plus switch-switch, all rails."""
    optics: int
    """Transceiver ends (400G-equivalent), two per optical link."""
    bisection_tbps: float
    """Bisection bandwidth, TB/s (one direction): half the GPUs talking to the other half."""
    per_gpu_gbytes: float
    """Scale-out line rate per GPU, GB/s per direction."""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def size_fabric(cluster: ClusterSpec, gpus: int | None = None) -> FabricSize:
    """Switches, links, optics and bisection of the cluster's fabric for ``gpus`` (default: all)."""
    net = cluster.network
    gpus = gpus or cluster.gpus
    nodes = max(1, math.ceil(gpus / cluster.gpus_per_node))
    rails = max(1, net.nics_per_node)
    k = net.switch_radix
    tiers = net.fabric_tiers or (0 if nodes == 1 else tiers_needed(nodes, k))
    per_gpu = net.nic_gbytes_per_gpu(cluster.gpus_per_node)
    if nodes == 1 or tiers == 0:
        return FabricSize(
            gpus=gpus,
            nodes=nodes,
            rails=rails,
            radix=k,
            tiers=0,
            oversubscription=1.0,
            switches=0,
            links=0,
            optics=0,
            bisection_tbps=0.0,
            per_gpu_gbytes=per_gpu,
        )
    ends = nodes * rails
    over = net.oversubscription if net.pod_gpus and gpus > net.pod_gpus else 1.0
    # Level 1 (NIC-leaf) is never oversubscribed; the levels above carry 1/over of the links.
    upper_links = (tiers - 1) * ends / over
    leaf_switches = 2 * ends / k if tiers > 1 else ends / k
    upper_switches = (2 * tiers - 3) * ends / k / over if tiers > 1 else 0.0
    links = ends + upper_links
    return FabricSize(
        gpus=gpus, nodes=nodes, rails=rails, radix=k, tiers=tiers, oversubscription=over,
        switches=math.ceil(leaf_switches + upper_switches), links=round(links),
        optics=round(OPTIC_ENDS_PER_LINK * links), per_gpu_gbytes=per_gpu,
        bisection_tbps=gpus / 2 * per_gpu / over / 1e3,
    )


def levels_crossed(cluster: ClusterSpec, span_gpus: int) -> int:
    """Switch levels a group of ``span_gpus`` consecutive ranks climbs (0 inside one NVLink
    domain)."""
    nodes = math.ceil(span_gpus / cluster.nvlink_domain)
    if nodes <= 1:
        return 0
    k = cluster.network.switch_radix
    tiers = cluster.network.fabric_tiers or tiers_needed(
        math.ceil(cluster.gpus / cluster.gpus_per_node), k
    )
    if tiers <= 1:
        return 1
    level = 1
    while level < tiers and (k // 2) ** level < nodes:
        level += 1
    return level


def path_efficiency(cluster: ClusterSpec, span_gpus: int) -> float:
    """Share of line rate the fabric keeps for a group spanning ``span_gpus`` (1 inside a node).

    The cluster's ``fabric_efficiency`` is the loaded-fabric share its source quotes for the
    whole fabric (Spectrum-X "95 % ... across all three tiers"; standard ECMP ~60 %, the
    1 - 1/e of random hashing of k flows onto k links). No source splits it by level, so every
    inter-node group gets it; what grows with scale here is latency and oversubscription.
    """
    return 1.0 if levels_crossed(cluster, span_gpus) == 0 else cluster.network.fabric_efficiency


def step_latency_s(cluster: ClusterSpec, span_gpus: int) -> float:
    """Alpha of one inter-node algorithm step for a group spanning ``span_gpus`` GPUs: the
    cluster's ``latency_us`` is what a group inside one pod (two switch levels, where published
    NCCL latencies are measured) sees; each level above adds two switch hops, a group under one
    leaf saves two."""
    level = max(1, levels_crossed(cluster, span_gpus))
    return max(cluster.network.latency_us + 2 * (level - 2) * SWITCH_HOP_US, SWITCH_HOP_US) * 1e-6
