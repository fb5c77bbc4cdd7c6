"""Options shared by ``plan`` and ``scale`` for the at-scale models: prices, PUE, failure rate,
storage bandwidth, restart time. Each overrides the cluster file's value (and the Plan's
source says so); out-of-range values exit 2 with one line. Not a command module.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import click

from exabench.analysis.atscale.params import SPEC, check
from exabench.analysis.planner.comm import Fabric
from exabench.commands._planning import flag_names
from exabench.documents.run import load_run

# option name -> (parameter in scaleparams.SPEC, help)
ECONOMICS = {
    "pue": ("pue", "Power usage effectiveness (>= 1)."),
    "electricity_usd_per_kwh": ("electricity_usd_per_kwh", "Electricity price, $/kWh."),
    "usd_per_gpu_hour": (
        "usd_per_gpu_hour",
        "Cloud rental price, $/GPU-hour (the alternative to owning).",
    ),
    "capex_usd_per_gpu": (
        "capex_usd_per_gpu",
        "All-in capital cost per GPU (servers + fabric), $.",
    ),
    "interruptions_per_gpu_hour": (
        "interruptions_per_gpu_hour",
        "Unexpected interruptions per GPU-hour (default Llama 3's).",
    ),
    "restart_minutes": (
        "restart_minutes",
        "Minutes to detect, reschedule and reload after an interruption.",
    ),
    "storage_gbps": (
        "storage_write_gbytes_per_s",
        "Checkpoint write bandwidth of the cluster, GB/s (> 0).",
    ),
}


def economics_options(fn: Callable) -> Callable:
    for name, (_, text) in reversed(list(ECONOMICS.items())):
        fn = click.option(f"--{name.replace('_', '-')}", name, type=float, default=None, help=text)(
            fn
        )
    return fn


def apply_economics(context: Any, overrides: dict[str, Any]) -> None:
    """Write the given overrides into the context's cluster (validated; exit 2 on a bad value,
    naming the flag)."""
    cluster = context.cluster
    sections = {
        "power": dict(cluster.power),
        "price": dict(cluster.price),
        "reliability": dict(cluster.reliability),
    }
    sources = dict(cluster.sources)
    for name, (param, _) in ECONOMICS.items():
        value = overrides.get(name)
        if value is None:
            continue
        flag = f"--{name.replace('_', '-')}"
        with flag_names({param: flag}):
            check(param, value)
        section = SPEC[param][0]
        sections[section][param] = float(value)
        sources[section] = (
            f"{flag} {value:g} given on the command line; {sources.get(section, '')}".rstrip("; ")
        )
    context.cluster = replace(cluster, sources=sources, **sections)
    context.fabric = Fabric(context.profile, context.cluster)


def attach_run(context: Any, hardware: str | None) -> None:
    """Keep the Run document beside the context so the power model can read its telemetry."""
    if hardware and hardware.endswith(".json"):
        context.run_doc = load_run(hardware)
