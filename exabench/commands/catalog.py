"""``exabench catalog``: the models, hardware profiles, clusters, framework presets and published
runs that ship."""

from __future__ import annotations

import json
from typing import Any

import click

from exabench.analysis.planner.flops import active_matmul_params, total_params
from exabench.workloads.clusters import shipped_clusters
from exabench.workloads.frameworks import framework_names, load_framework
from exabench.workloads.models import shipped_models
from exabench.workloads.profile import (
    MEASURED_SUFFIX,
    load_reference,
    run_device_name,
    shipped_measured,
)
from exabench.workloads.published import load_published
from exabench.workloads.tomlfile import shipped_names

MODEL_COLUMNS = (
    "name", "params_b", "active_b", "layers", "hidden", "heads", "kv_heads", "moe", "seq_len"
)
HARDWARE_COLUMNS = (
    "name", "bf16_tflops", "fp8_tflops", "hbm_gb", "hbm_gbps", "nvlink_gbps", "tdp_w"
)
MEASURED_COLUMNS = ("name", "run", "created", "device")
CLUSTER_COLUMNS = ("name", "gpu", "gpus", "gpus_per_node", "nic_gbps_per_gpu", "fabric")
FRAMEWORK_COLUMNS = ("name", "overlaps", "attention", "zero", "grad_bytes", "description")
OVERLAP_KNOBS = (("tp_comm_overlap", "TP"), ("overlap_dp", "DP"), ("pp_comm_overlap", "PP"),
                 ("cp_comm_overlap", "CP"), ("ep_comm_overlap", "EP"),
                 ("fsdp_prefetch", "prefetch"), ("cuda_graphs", "graphs"))
"""Overlap knobs and the short name the catalog shows for each that is on."""


@click.command("catalog")
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True
)
def command(fmt: str) -> None:
    """List the shipped models, hardware profiles, clusters and framework presets, with sources.

    \b
    Examples:
      exabench catalog
      exabench catalog --format json
    """
    catalog = {
        "models": _models(),
        "hardware": _hardware(),
        "measured": _measured(),
        "clusters": _clusters(),
        "frameworks": _frameworks(),
        "published": sorted({r.source for r in load_published()}),
    }
    if fmt == "json":
        click.echo(json.dumps(catalog, indent=2))
    else:
        _print_tables(catalog)


def _models() -> list[dict[str, Any]]:
    return [
        {
            "name": m.name,
            "params_b": total_params(m) / 1e9,
            "active_b": active_matmul_params(m) / 1e9,
            "layers": m.layers,
            "hidden": m.hidden,
            "heads": m.heads,
            "kv_heads": m.kv_heads,
            "moe": f"{m.moe.experts}x top-{m.moe.top_k}" if m.moe else "",
            "seq_len": m.seq_len,
            "source": m.source,
        }
        for m in shipped_models()
    ]


def _hardware() -> list[dict[str, Any]]:
    hardware = []
    for name in shipped_names("hardware"):
        p = load_reference(name)
        hardware.append({
            "name": name,
            "bf16_tflops": p.peaks.peak("bf16"),
            "fp8_tflops": p.peaks.peak("fp8"),
            "hbm_gb": p.peaks.capacity_gb,
            "hbm_gbps": p.peaks.hbm_bandwidth_gbps,
            "nvlink_gbps": p.peaks.nvlink_gbps_per_direction,
            "tdp_w": p.peaks.tdp_w,
            "source": p.peaks.sources.get("peak_tflops", ""),
        })
    return hardware


def _clusters() -> list[dict[str, Any]]:
    return [
        {
            "name": c.name,
            "gpu": c.gpu,
            "gpus": c.gpus,
            "gpus_per_node": c.gpus_per_node,
            "nic_gbps_per_gpu": c.network.nic_gbytes_per_gpu(c.gpus_per_node) * 8,
            "fabric": c.network.fabric,
            "source": c.source,
        }
        for c in shipped_clusters()
    ]


def _frameworks() -> list[dict[str, Any]]:
    out = []
    for name in framework_names():
        f = load_framework(name)
        out.append({
            "name": f.name,
            "overlaps": "+".join(short for knob, short in OVERLAP_KNOBS if f.knobs[knob]) or "-",
            "attention": f.knobs["attention_kernel"],
            "zero": f.knobs["zero"],
            "grad_bytes": f.knobs["grad_reduce_bytes"],
            "description": f.description.split(":")[0].split(" (")[0].strip(),
            "knobs": f.knobs,
            "source": f.source,
        })
    return out


def _measured() -> list[dict[str, Any]]:
    return [
        {
            "name": f"{name}{MEASURED_SUFFIX}",
            "run": run.get("id"),
            "created": run.get("created"),
            "device": run_device_name(run),
        }
        for name, run in shipped_measured()
    ]


def _print_tables(catalog: dict[str, Any]) -> None:
    _table("Models", catalog["models"], MODEL_COLUMNS)
    _table("Hardware", catalog["hardware"], HARDWARE_COLUMNS)
    if catalog["measured"]:
        _table("Measured hardware (--hardware NAME: the newest shipped Run on that GPU)",
               catalog["measured"], MEASURED_COLUMNS)
    else:
        click.echo(
            "Measured hardware: none ships yet (no Run from a GPU in workloads/measured/); plans"
            " use the published curves, or --hardware RUN.json\n"
        )
    _table("Clusters", catalog["clusters"], CLUSTER_COLUMNS)
    _table("Frameworks (--framework; knobs and their sources in workloads/frameworks/)",
           catalog["frameworks"], FRAMEWORK_COLUMNS)
    click.echo("Published runs (exabench validate):")
    for source in catalog["published"]:
        click.echo(f"  {source}")


def _table(title: str, rows: list[dict[str, Any]], cols: tuple[str, ...]) -> None:
    def cell(v: Any) -> str:
        return "-" if v is None else f"{v:.4g}" if isinstance(v, float) else str(v)

    widths = {c: max(len(c), *(len(cell(r[c])) for r in rows)) for c in cols}
    click.echo(f"{title}:")
    click.echo("  " + "  ".join(c.ljust(widths[c]) for c in cols))
    for r in rows:
        click.echo("  " + "  ".join(cell(r[c]).ljust(widths[c]) for c in cols))
    click.echo("")
