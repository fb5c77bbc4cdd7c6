"""Collective and point-to-point times from bus-bandwidth curves (nccl-tests factors) plus latency.

nccl-tests define ``busbw = algbw * f`` with ``f = 2(n-1)/n`` for all-reduce and ``(n-1)/n``
for reduce-scatter, all-gather and all-to-all (NVIDIA/nccl-tests doc/PERFORMANCE.md; the table
is :mod:`exabench.workloads.collectives`, shared with bench), so a collective on a buffer of
S bytes takes ``t = f S / busbw(S)``: measured busbw feeds in directly.

- Inside one NVLink domain: the profile's busbw curve (measured or published) by message size;
  the curve already holds the small-message latency.
- Across nodes (alpha-beta, Hockney): ``t = steps * alpha + f S / B`` with B the per-GPU NIC
  bandwidth x NCCL's achievable share x the fabric's efficiency, divided by the
  oversubscription when the group leaves a pod. A group with g > 1 ranks per node runs
  hierarchically: reduce-scatter over NVLink, the inter-node collective on S/g, all-gather over
  NVLink (Thakur, Rabenseifner & Gropp, IJHPCA 19(1), 2005). Latency steps: ring ``n - 1`` per
  phase, or
  ``2 log2 n`` (NCCL's tree) for all-reduce when that is shorter. A ring through ``g``
  ranks per node also makes ``n - nodes`` NVLink hops per phase, each at
  :data:`NVLINK_HOP_S` (NCCL's own tuning model, below).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from exabench.analysis.planner.fabric import levels_crossed, path_efficiency, step_latency_s
from exabench.workloads.clusters import ClusterSpec
from exabench.workloads.collectives import BUSBW_FACTOR
from exabench.workloads.profile import HardwareProfile

NVLINK_HOP_S = 3.4e-6
"""Latency of one NVLink hop of an NCCL ring with the Simple protocol, the one large messages
use: NCCL's tuning model, ``hwLat[NCCL_HW_NVLINK][NCCL_ALGO_RING][NCCL_PROTO_SIMPLE]`` = 3.4 us
(NVIDIA/nccl src/graph/tuning.cc)."""


@dataclass(frozen=True)
class Fabric:
    """What a communication group sees: the GPU's NVLink curves and the cluster's NICs."""

    profile: HardwareProfile
    cluster: ClusterSpec

    @property
    def node(self) -> int:
        """GPUs in one NVLink domain (8 for HGX; 72 for NVL72)."""
        return self.cluster.nvlink_domain

    def nic_bytes_per_s(self, span_gpus: int) -> float:
        """Achievable scale-out bandwidth per GPU for a group spanning ``span_gpus`` consecutive
        ranks.

        Modelled: NIC line rate x NCCL's achievable share (``nic_efficiency``) x the fabric's
        path efficiency. Measured (a profile from a multi-node Run, ``scaleout_gbps``): the Run's
        all-reduce plateau, capped at the planned NICs' line rate; a group that climbs more
        switch levels than the Run's ranks did adds the path efficiency the Run never saw.
        """
        net = self.cluster.network
        line = net.nic_gbytes_per_gpu(self.cluster.gpus_per_node) * 1e9
        measured = self.profile.scaleout_gbps
        if measured:
            bw = min(measured * 1e9, line)
            if levels_crossed(self.cluster, span_gpus) > levels_crossed(
                self.cluster, self.profile.scaleout_span_gpus
            ):
                bw *= path_efficiency(self.cluster, span_gpus)
        else:
            # Multipath collisions grow with the switch levels the group climbs (fabric.py).
            bw = line * net.nic_efficiency * path_efficiency(self.cluster, span_gpus)
        if net.pod_gpus and span_gpus > net.pod_gpus:
            bw /= net.oversubscription
        return bw

    @property
    def alpha(self) -> float:
        return self.cluster.network.latency_us * 1e-6

    def alpha_for(self, span_gpus: int) -> float:
        """Per-step latency for a group spanning ``span_gpus``: fewer switch hops below the top
        tier."""
        return step_latency_s(self.cluster, span_gpus)


def ranks_per_domain(fabric: Fabric, n: int, stride: int) -> int:
    """How many of the group's ``n`` ranks (``stride`` apart) share one NVLink domain."""
    return max(1, min(n, fabric.node // stride)) if stride < fabric.node else 1


def collective_time(
    fabric: Fabric, collective: str, nbytes: float, n: int, stride: int = 1
) -> float:
    """Seconds for one collective of ``nbytes`` (the full buffer) over ``n`` ranks ``stride``
    apart."""
    if n <= 1 or nbytes <= 0:
        return 0.0
    g = ranks_per_domain(fabric, n, stride)
    if g >= n:
        return (
            BUSBW_FACTOR[collective](n) * nbytes / fabric.profile.nvlink_busbw(collective, nbytes)
        )
    nodes = n // g
    bw = fabric.nic_bytes_per_s(n * stride)
    if collective == "all_to_all":
        # Each rank sends (n - g)/n of its buffer over its NIC and (g - 1)/n over NVLink.
        intra = 0.0
        if g > 1:
            intra = (g - 1) / n * nbytes / fabric.profile.nvlink_busbw("all_to_all", nbytes)
        return (n - g) / n * nbytes / bw + intra + (nodes - 1) * fabric.alpha_for(n * stride)
    inner = 0.0
    if g > 1:  # hierarchical: NVLink reduce-scatter / all-gather around the inter-node part
        phases = {"all_reduce": 2, "reduce_scatter": 1, "all_gather": 1}[collective]
        rs_busbw = fabric.profile.nvlink_busbw("reduce_scatter", nbytes)
        inner = phases * BUSBW_FACTOR["reduce_scatter"](g) * nbytes / rs_busbw
    share = nbytes / g
    steps = (nodes - 1) * (2 if collective == "all_reduce" else 1)
    if collective == "all_reduce":
        steps = min(steps, 2 * math.ceil(math.log2(nodes)))
    inter = BUSBW_FACTOR[collective](nodes) * share / bw
    ring_hops = 0.0
    if collective != "all_reduce" or steps == (nodes - 1) * 2:  # a ring, not NCCL's tree
        phases = 2 if collective == "all_reduce" else 1
        ring_hops = phases * (n - nodes) * NVLINK_HOP_S
    return inner + inter + steps * fabric.alpha_for(n * stride) + ring_hops


def p2p_time(fabric: Fabric, nbytes: float, stride: int) -> float:
    """One point-to-point send between neighbouring pipeline stages, ``stride`` ranks apart."""
    if nbytes <= 0:
        return 0.0
    if stride < fabric.node:
        return nbytes / (fabric.profile.p2p_gbps * 1e9) + fabric.alpha
    return nbytes / fabric.nic_bytes_per_s(2 * stride) + fabric.alpha_for(2 * stride)


def collective_scaling(fabric: Fabric, collective: str, nbytes: float,
                       node_counts: list[int]) -> list[dict[str, Any]]:
    """Time, bus bandwidth and levels crossed of one collective (one GPU per node, a DP-style
    group) as the node count grows: the measured/published NVLink curve inside a node, the
    fabric model (fabric.py) above."""
    stride = fabric.cluster.nvlink_domain
    rows = []
    for n in node_counts:
        t = collective_time(fabric, collective, nbytes, n, stride)
        busbw = BUSBW_FACTOR[collective](n) * nbytes / t / 1e9 if t > 0 else None
        rows.append({
            "nodes": n,
            "gpus": n * stride,
            "levels": levels_crossed(fabric.cluster, n * stride),
            "time_s": t,
            "busbw_gbps": busbw,
            "path_efficiency": path_efficiency(fabric.cluster, n * stride),
            "step_latency_us": step_latency_s(fabric.cluster, n * stride) * 1e6,
        })
    return rows
