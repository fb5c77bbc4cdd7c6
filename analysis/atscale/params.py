"""The reliability, power and cost parameters of a plan at scale: defaults with sources, the
cluster's values (``[power]``, ``[price]``, ``[reliability]`` of its TOML) and CLI overrides on
top, each validated (exit 2 and one line for a negative price, PUE < 1, zero bandwidth ...).

Every value carries its kind and source (``provenance``): ``published`` defaults cite their
primary source (docs/at-scale.md tables them); a value from the cluster file cites the file's
section source;
``assumed`` names a judgement call. The uncertainty ranges live in uncertainty.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from exabench.errors import UserError
from exabench.workloads.clusters import ClusterSpec

LLAMA3_RATE = 419 / (16_384 * 54 * 24)
"""Unexpected interruptions per GPU-hour: 419 in 54 days on 16,384 H100 (Dubey et al. 2024,
Table 5)."""

# name: (section in the cluster TOML, default, kind, source, rule). rule: "pos" > 0, "nonneg" >= 0,
# "pue" >= 1, "frac" in (0, 1], "rate" in [0, 1).
SPEC: dict[str, tuple[str, float, str, str, str]] = {
    "interruptions_per_gpu_hour": (
        "reliability",
        LLAMA3_RATE,
        "published",
        "Llama 3: 419 unexpected interruptions / (16,384 GPUs x 54 days), arXiv 2407.21783 Table 5",
        "nonneg",
    ),
    "restart_minutes": (
        "reliability",
        10.0,
        "assumed",
        (
            "MegaScale (Jiang et al., NSDI'24, arXiv 2402.15627): detection + "
            "diagnosis < 10 min, resume < 15 min"
        ),
        "nonneg",
    ),
    "storage_write_gbytes_per_s": (
        "reliability",
        2000.0,
        "published",
        (
            "Llama 3 checkpoint storage (Tectonic): 2 TB/s sustained "
            "(Dubey et al. 2024, arXiv 2407.21783, section 3.3)"
        ),
        "pos",
    ),
    "checkpoint_bytes_per_param": (
        "reliability",
        14.0,
        "assumed",
        (
            "bf16 weights 2 B + fp32 master 4 B + Adam m, v 8 B; gradients are not saved (ZeRO"
            " paper's 16 B less 2)"
        ),
        "pos",
    ),
    "gpu_w": ("power", 0.0, "published", "the GPU profile's TDP (datasheet)", "nonneg"),
    "power_utilisation": (
        "power",
        0.76,
        "published",
        (
            "Newkirk et al. arXiv 2506.14551: compute-intensive training draws 76 % of rated node"
            " power; Epoch 0.75 (90 % CI 0.5-1.0)"
        ),
        "frac",
    ),
    "host_w_per_gpu": (
        "power",
        575.0,
        "published",
        (
            "~575 W/GPU non-GPU server share (SemiAnalysis, '100,000 H100 Clusters: "
            "Power, Network Topology, ...', June 2024)"
        ),
        "nonneg",
    ),
    "network_storage_fraction": (
        "power",
        0.10,
        "published",
        (
            "~10 % more for storage, switches, optics (SemiAnalysis, "
            "'100,000 H100 Clusters', June 2024)"
        ),
        "nonneg",
    ),
    "pue": (
        "power",
        1.2,
        "published",
        (
            "central of 1.1-1.3 for new AI builds (Epoch, epoch-research/training-cost-trends "
            "energy.py: 1.1 hyperscale, 1.25 other; SemiAnalysis: AI datacenters < 1.3)"
        ),
        "pue",
    ),
    "electricity_usd_per_kwh": (
        "power",
        0.0806,
        "published",
        "US industrial average 2023, EIA via Epoch energy.py",
        "nonneg",
    ),
    "grid_kg_co2_per_kwh": (
        "power",
        0.37,
        "assumed",
        "US grid average ~0.37 kg CO2/kWh (EIA FAQ, 2023: 0.81 lb/kWh)",
        "nonneg",
    ),
    "capex_usd_per_gpu": (
        "price",
        50_000.0,
        "published",
        (
            "all-in capex incl. fabric $47-52k/GPU (E. Cheah, 'H100 Freakonomics', "
            "tech-talk-cto substack, and its spreadsheet)"
        ),
        "pos",
    ),
    "switch_port_usd": (
        "price",
        562.0,
        "published",
        "FS.com 64-port NDR switch $36k = $562/port (in E. Cheah's H100 Freakonomics spreadsheet)",
        "nonneg",
    ),
    "optic_usd": (
        "price",
        630.0,
        "published",
        "Cheah: cables/optics $398M for 104,858 GPUs at ~6 ends/GPU = ~$630 per end (derived)",
        "nonneg",
    ),
    "datacenter_usd_per_mw": (
        "price",
        11.7e6,
        "published",
        "Cushman & Wakefield 2025: $11.7M per MW critical load, US average",
        "nonneg",
    ),
    "hw_life_years": ("price", 5.0, "published", "Epoch: 5-year server life (2023+)", "pos"),
    "dc_life_years": (
        "price",
        15.0,
        "assumed",
        "datacenter shell and MEP amortised over 15 years",
        "pos",
    ),
    "cost_of_capital": ("price", 0.10, "assumed", "10 % a year", "nonneg"),
    "opex_fraction": (
        "price",
        0.03,
        "assumed",
        "maintenance and operations 3 % of hardware capex a year",
        "nonneg",
    ),
    "usd_per_gpu_hour": (
        "price",
        2.0,
        "published",
        (
            "cloud rental: DeepSeek-V3's $2/GPU-h (arXiv 2412.19437, Table 1); "
            "1-yr H100 contracts $1.70-2.65 (SemiAnalysis index, 2025-26)"
        ),
        "nonneg",
    ),
}
RULES = {"pos": ("> 0", lambda v: v > 0), "nonneg": (">= 0", lambda v: v >= 0),
         "pue": (">= 1", lambda v: v >= 1), "frac": ("in (0, 1]", lambda v: 0 < v <= 1)}


def check(name: str, value: Any, where: str = "") -> float:
    """``value`` as a float if it is valid for parameter ``name``; a one-line UserError
    otherwise."""
    rule = SPEC[name][4]
    text, ok = RULES[rule]
    label = f"{where}{name}"
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or value != value
        or not ok(value)
    ):
        raise UserError(f"{label} = {value!r} is not valid; must be {text}")
    return float(value)


@dataclass(kw_only=True, frozen=True)
class ScaleParams:
    values: dict[str, float]
    provenance: dict[str, dict[str, str]] = field(default_factory=dict)

    def __getattr__(self, name: str) -> float:
        try:
            return self.__dict__["values"][name]
        except KeyError:
            raise AttributeError(name) from None

    def with_values(self, **overrides: float) -> ScaleParams:
        values = {**self.values, **{k: check(k, v) for k, v in overrides.items()}}
        prov = {
            **self.provenance,
            **{k: {"kind": "assumed", "source": "given on the command line"} for k in overrides},
        }
        return replace(self, values=values, provenance=prov)

    def assumptions(self) -> list[dict[str, Any]]:
        return [{"name": k, "value": v, **self.provenance[k]} for k, v in self.values.items()]


def from_cluster(cluster: ClusterSpec, tdp_w: float | None) -> ScaleParams:
    """The cluster's values where it has them, the published/assumed defaults elsewhere."""
    values, prov = {}, {}
    for name, (section, default, kind, source, _) in SPEC.items():
        table = getattr(cluster, section)
        if name in table:
            values[name] = check(name, table[name], f"cluster {cluster.name}: {section}.")
            prov[name] = {
                "kind": "published",
                "source": f"cluster {cluster.name}: {cluster.sources.get(section, section)}",
            }
        elif name == "gpu_w":
            values[name] = float(tdp_w or 700.0)
            prov[name] = {
                "kind": "published" if tdp_w else "assumed",
                "source": "GPU TDP (datasheet)" if tdp_w else "700 W assumed",
            }
        else:
            values[name] = default
            prov[name] = {"kind": kind, "source": source}
    return ScaleParams(values=values, provenance=prov)


__all__ = ["LLAMA3_RATE", "SPEC", "ScaleParams", "check", "from_cluster"]
