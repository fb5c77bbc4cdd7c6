"""Cluster specs: how many GPUs of which kind, how they are wired, and what they cost to run.

Data in ``workloads/clusters/*.toml``. Top level: ``name, description, source, gpu`` (a
hardware profile name), ``gpus, gpus_per_node, nvlink_domain``; tables ``[network]`` (NICs,
fabric tiers, oversubscription above a pod, fabric efficiency, latency), ``[power]``,
``[price]`` and ``[reliability]`` (numbers with a ``source``, read by the power, cost and
reliability models). Unknown keys are an error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from exabench.errors import UserError
from exabench.workloads.tomlfile import read_toml, resolve_spec, shipped_names

TOP_KEYS = {"name", "description", "source", "gpu", "gpus", "gpus_per_node", "nvlink_domain",
            "network", "power", "price", "reliability"}
NETWORK_KEYS = {
    "source",
    "nics_per_node",
    "nic_gbps",
    "fabric",
    "fabric_tiers",
    "pod_gpus",
    "oversubscription",
    "fabric_efficiency",
    "nic_efficiency",
    "latency_us",
    "switch_radix",
}
NUMERIC_SECTIONS = ("power", "price", "reliability")


@dataclass(kw_only=True, frozen=True)
class NetworkSpec:
    """The scale-out fabric, seen from one GPU."""

    nics_per_node: int
    nic_gbps: float
    """Line rate of one NIC, Gb/s (decimal)."""
    fabric: str = ""
    fabric_tiers: int = 3
    pod_gpus: int = 0
    """GPUs under the non-blocking tiers; traffic leaving a pod sees ``oversubscription``."""
    oversubscription: float = 1.0
    fabric_efficiency: float = 1.0
    """Share of line rate the fabric keeps under load (Spectrum-X 0.95 per NVIDIA's claim)."""
    nic_efficiency: float = 0.94
    """Share of a NIC's line rate NCCL reaches between two nodes (46-48 of 50 GB/s,
    nccl-tests#290)."""
    latency_us: float = 5.0
    """Per-step latency of an inter-node collective step (alpha), microseconds."""
    switch_radix: int = 64
    """Ports per switch at the NIC speed (64 x 400G Quantum-2; 128 x 400G Spectrum-4 SN5600)."""
    source: str = ""

    def nic_gbytes_per_gpu(self, gpus_per_node: int) -> float:
        """Line-rate scale-out bandwidth per GPU, GB/s per direction."""
        return self.nics_per_node * self.nic_gbps / 8.0 / gpus_per_node


@dataclass(kw_only=True, frozen=True)
class ClusterSpec:
    name: str
    gpu: str
    """Hardware profile name (``workloads/hardware/<gpu>.toml``)."""
    gpus: int
    gpus_per_node: int
    nvlink_domain: int
    """GPUs that reach each other over NVLink (8 for HGX; 72 for NVL72)."""
    network: NetworkSpec
    power: dict[str, float] = field(default_factory=dict)
    price: dict[str, float] = field(default_factory=dict)
    reliability: dict[str, float] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    description: str = ""
    source: str = ""


MAX_GPUS = 10_000_000
"""100 times the largest cluster the planner is meant for; beyond it a count is a typo, and the
layout search over its divisors would run for hours."""


MAX_NUMBER = 1e15
"""Largest value any cluster field takes (watts, dollars, Gb/s, ports...): a bigger one is a
typo, and an integer beyond float range (10^400) would overflow the arithmetic later."""


def _number(
    where: str, key: str, value: Any, *, integer: bool = False, zero_ok: bool = False
) -> Any:
    kinds = (int,) if integer else (int, float)
    # `not 0 <= value <= MAX_NUMBER` also refuses nan (every comparison with it is false) and inf.
    if (
        isinstance(value, bool)
        or not isinstance(value, kinds)
        or not 0 <= value <= MAX_NUMBER
        or (value == 0 and not zero_ok)
    ):
        what = "a positive integer" if integer else "a positive finite number"
        shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
        raise UserError(
            f"{where}: {key} = {shown} is not valid; must be {what} of at most {MAX_NUMBER:.0e}"
        )
    return value


def _table(where: str, doc: dict[str, Any], key: str) -> dict[str, Any]:
    value = doc.get(key, {})
    if not isinstance(value, dict):
        raise UserError(f"{where}: [{key}] must be a table")
    return dict(value)


def _check_top_keys(doc: dict[str, Any], where: str) -> None:
    unknown = sorted(set(doc) - TOP_KEYS)
    if unknown:
        raise UserError(
            f"{where}: unknown key {unknown[0]!r}; valid: {', '.join(sorted(TOP_KEYS))}"
        )
    for required in ("gpu", "gpus", "gpus_per_node"):
        if required not in doc:
            raise UserError(f"{where}: missing {required!r}")


def _node_shape(doc: dict[str, Any], where: str) -> tuple[int, int, int]:
    """``gpus``, ``gpus_per_node`` and ``nvlink_domain`` (a node when not given), checked."""
    gpus = _number(where, "gpus", doc["gpus"], integer=True)
    if gpus > MAX_GPUS:
        raise UserError(f"{where}: gpus = {gpus:,} is not valid; must be at most {MAX_GPUS:,}")
    per_node = _number(where, "gpus_per_node", doc["gpus_per_node"], integer=True)
    domain = _number(where, "nvlink_domain", doc.get("nvlink_domain", per_node), integer=True)
    if domain % per_node and per_node % domain:
        raise UserError(
            f"{where}: nvlink_domain = {domain} and gpus_per_node = {per_node} must divide one"
            " another"
        )
    return gpus, per_node, domain


def _network(net: dict[str, Any], where: str, *, gpus: int, per_node: int) -> NetworkSpec:
    """The ``[network]`` table: a NIC per GPU and one pod of all ``gpus`` when not given."""
    bad = sorted(set(net) - NETWORK_KEYS)
    if bad:
        raise UserError(
            f"{where}: unknown key 'network.{bad[0]}'; valid: {', '.join(sorted(NETWORK_KEYS))}"
        )

    def integer(key: str, default: int, *, zero_ok: bool = False) -> int:
        value = net.get(key, default)
        return _number(where, f"network.{key}", value, integer=True, zero_ok=zero_ok)

    def number(key: str, default: float) -> float:
        return float(_number(where, f"network.{key}", net.get(key, default)))

    network = NetworkSpec(
        nics_per_node=integer("nics_per_node", per_node, zero_ok=True),
        nic_gbps=number("nic_gbps", 400),
        fabric=str(net.get("fabric", "")),
        fabric_tiers=integer("fabric_tiers", 3, zero_ok=True),
        pod_gpus=integer("pod_gpus", gpus),
        oversubscription=number("oversubscription", 1.0),
        fabric_efficiency=number("fabric_efficiency", 1.0),
        nic_efficiency=number("nic_efficiency", 0.94),
        latency_us=number("latency_us", 5.0),
        switch_radix=integer("switch_radix", 64),
        source=str(net.get("source", "")),
    )
    for key in ("fabric_efficiency", "nic_efficiency"):
        if getattr(network, key) > 1:
            raise UserError(f"{where}: network.{key} = {getattr(network, key)} must be in (0, 1]")
    return network


def _numeric_sections(
    doc: dict[str, Any], where: str
) -> tuple[dict[str, dict[str, float]], dict[str, str]]:
    """The ``NUMERIC_SECTIONS`` tables as numbers, and the ``source`` each one gives."""
    sections: dict[str, dict[str, float]] = {}
    sources: dict[str, str] = {}
    for name in NUMERIC_SECTIONS:
        table = _table(where, doc, name)
        if "source" in table:
            sources[name] = str(table.pop("source"))
        sections[name] = {
            k: float(_number(where, f"{name}.{k}", v, zero_ok=True)) for k, v in table.items()
        }
    return sections, sources


def parse_cluster(doc: dict[str, Any], where: str) -> ClusterSpec:
    """A cluster spec from its TOML ``doc``; ``where`` (its path) names it in every error."""
    _check_top_keys(doc, where)
    gpus, per_node, domain = _node_shape(doc, where)
    network = _network(_table(where, doc, "network"), where, gpus=gpus, per_node=per_node)
    sections, sources = _numeric_sections(doc, where)
    return ClusterSpec(
        name=str(doc.get("name") or Path(where).stem),
        gpu=str(doc["gpu"]),
        gpus=gpus,
        gpus_per_node=per_node,
        nvlink_domain=domain,
        network=network,
        sources={"network": network.source, **sources},
        description=str(doc.get("description", "")),
        source=str(doc.get("source", "")),
        **sections,
    )


def load_cluster(name_or_path: str) -> ClusterSpec:
    path = resolve_spec("clusters", name_or_path)
    return parse_cluster(read_toml(path), str(path))


def shipped_clusters() -> list[ClusterSpec]:
    return [load_cluster(name) for name in shipped_names("clusters")]


def single_node(gpu: str, gpus_per_node: int = 8) -> ClusterSpec:
    """An implicit cluster when none is named: nodes of ``gpus_per_node`` on a 400G-per-GPU
    fabric (assumed)."""
    return ClusterSpec(
        name=f"{gpu}-nodes",
        gpu=gpu,
        gpus=gpus_per_node,
        gpus_per_node=gpus_per_node,
        nvlink_domain=gpus_per_node,
        network=NetworkSpec(
            nics_per_node=gpus_per_node,
            nic_gbps=400.0,
            fabric="assumed non-blocking fat tree",
            source="assumed: 400 Gb/s per GPU, non-blocking (no --cluster given)",
        ),
        description="implicit: no --cluster given",
        source="assumed",
    )
