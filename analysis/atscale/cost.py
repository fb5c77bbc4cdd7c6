"""Cost per GPU-hour and of a run: owning (TCO) against renting (docs/at-scale.md, "Cost").

Capital, amortised with the capital recovery factor ``CRF(r, L) = r / (1 - (1 + r)^-L)``:

- systems: the all-in capex per GPU (servers and fabric) less the network, which is priced from
  the fabric's size (fabric.py): switches x radix x $/port + optics x $/end;
- datacenter: ``$/MW x rated IT kW per GPU / 1000`` (shell and MEP), over its own life.

Per hour (8,766 h a year): ``[C_hw CRF(r, L_hw) + C_dc CRF(r, L_dc)] / 8766 + energy + opex``
with energy = average IT kW x PUE x $/kWh and opex = a yearly share of the hardware capex. The
base case (C $50k, 5 y, 10 %, $11.7M/MW, PUE 1.2; docs/at-scale.md) gives ~$1.98/GPU-h.
This is the cost at full utilisation of the owned machine; the run pays it for its wall time.
Renting: GPU-hours x the rental price (DeepSeek-V3 costed its 2.788M H800-hours at $2).
"""

from __future__ import annotations

from typing import Any

from exabench.analysis.atscale.params import ScaleParams
from exabench.analysis.planner.fabric import FabricSize

HOURS_PER_YEAR = 8766.0


def crf(rate: float, years: float) -> float:
    """Capital recovery factor: the yearly payment that repays 1 over ``years`` at ``rate``."""
    return 1.0 / years if rate == 0 else rate / (1.0 - (1.0 + rate) ** -years)


def run_cost(gpu_hours: float, usd_per_gpu_hour: float) -> float:
    """Dollars for ``gpu_hours`` at a price per GPU-hour."""
    return gpu_hours * usd_per_gpu_hour


def network_usd_per_gpu(params: ScaleParams, fabric: FabricSize) -> float:
    if fabric.gpus <= 0 or fabric.switches == 0:
        return 0.0
    total = (
        fabric.switches * fabric.radix * params.switch_port_usd + fabric.optics * params.optic_usd
    )
    return total / fabric.gpus


def tco_per_gpu_hour(params: ScaleParams, *, it_kw_per_gpu: float, rated_kw_per_gpu: float,
                     network_per_gpu: float = 0.0) -> dict[str, float]:
    """$/GPU-hour of an owned cluster, by part (systems, network, datacenter, energy, opex)."""
    r = params.cost_of_capital
    hw_crf = crf(r, params.hw_life_years) / HOURS_PER_YEAR
    network = min(network_per_gpu, params.capex_usd_per_gpu)
    systems = params.capex_usd_per_gpu - network
    dc_capex = params.datacenter_usd_per_mw * rated_kw_per_gpu / 1000.0
    parts = {
        "systems": systems * hw_crf,
        "network": network * hw_crf,
        "datacenter": dc_capex * crf(r, params.dc_life_years) / HOURS_PER_YEAR,
        "energy": it_kw_per_gpu * params.pue * params.electricity_usd_per_kwh,
        "opex": params.opex_fraction * params.capex_usd_per_gpu / HOURS_PER_YEAR,
    }
    parts["total"] = sum(parts.values())
    return parts


def cost_section(params: ScaleParams, *, gpus: int, gpu_hours: float, it_w_per_gpu: float,
                 fabric: FabricSize) -> dict[str, Any]:
    """The Plan's ``cost`` section: the run owned (TCO) and rented, with the parts."""
    rated_kw = (
        (params.gpu_w + params.host_w_per_gpu) * (1 + params.network_storage_fraction) / 1000.0
    )
    net = network_usd_per_gpu(params, fabric)
    tco = tco_per_gpu_hour(
        params, it_kw_per_gpu=it_w_per_gpu / 1000.0, rated_kw_per_gpu=rated_kw, network_per_gpu=net
    )
    owned = run_cost(gpu_hours, tco["total"])
    rented = run_cost(gpu_hours, params.usd_per_gpu_hour)
    capex = {"systems": (params.capex_usd_per_gpu - min(net, params.capex_usd_per_gpu)) * gpus,
             "network": min(net, params.capex_usd_per_gpu) * gpus,
             "datacenter": params.datacenter_usd_per_mw * rated_kw * gpus / 1000.0}
    return {
        "usd": owned,
        "usd_per_gpu_hour": tco["total"],
        "usd_rented": rented,
        "rental_usd_per_gpu_hour": params.usd_per_gpu_hour,
        "parts": {k: v * gpu_hours for k, v in tco.items() if k != "total"},
        "per_gpu_hour_parts": {k: v for k, v in tco.items() if k != "total"},
        "capex_usd": {**capex, "total": sum(capex.values())},
        "kind": "published",
        "source": (
            f"TCO: capex ${params.capex_usd_per_gpu:,.0f}/GPU all-in over {params.hw_life_years:g}"
            f" y at {params.cost_of_capital:.0%}, datacenter"
            f" ${params.datacenter_usd_per_mw / 1e6:.1f}M/MW over {params.dc_life_years:g} y,"
            f" electricity ${params.electricity_usd_per_kwh:.4f}/kWh, opex"
            f" {params.opex_fraction:.0%}/y (cost.py); rented at"
            f" ${params.usd_per_gpu_hour:.2f}/GPU-h"
        ),
    }
