"""The at-scale sections of a Plan: ``training`` (time, GPU-hours, goodput, interruptions),
``power``, ``cost``, ``uncertainty`` and ``fabric``, from one predicted throughput.

plan.py calls :func:`scale_sections` once the step model has given tokens/s per GPU; the
reliability, power, cost and uncertainty models (one module each) do the rest. The parameters
come from the cluster file over published defaults (scaleparams.py); a Run attached to the
context (``ctx.run_doc``) supplies measured GPU power when it was measured on this GPU.
"""

from __future__ import annotations

from typing import Any

from exabench.analysis.atscale.cost import cost_section
from exabench.analysis.atscale.params import ScaleParams, from_cluster
from exabench.analysis.atscale.power import measured_gpu_watts, power_section
from exabench.analysis.atscale.reliability import reliability
from exabench.analysis.atscale.uncertainty import uncertainty_section
from exabench.analysis.planner.fabric import size_fabric
from exabench.analysis.planner.flops import total_params

UNCERTAINTY_DRAWS = 10_000


def peak_eflops(profile: Any, gpus: int) -> dict[str, Any]:
    """Cluster peaks, EFLOP/s: dense bf16 (the figure for planning training), dense fp8, and the
    fp8-with-2:4-sparsity figure behind the "4 PFLOPS per GPU" often quoted for H100 clusters
    (NVIDIA H100 datasheet: the sparse figures are 2 x dense)."""
    bf16, fp8 = profile.peaks.peak("bf16"), profile.peaks.peak("fp8")
    out: dict[str, Any] = {"bf16_dense": bf16 * gpus / 1e6 if bf16 else None,
                           "fp8_dense": fp8 * gpus / 1e6 if fp8 else None,
                           "fp8_sparse": 2 * fp8 * gpus / 1e6 if fp8 else None,
                           "fp8_sparse_per_gpu_pflops": 2 * fp8 / 1e3 if fp8 else None}
    out["note"] = (
        "plan on bf16_dense; '4 PFLOPS per GPU' is fp8 with 2:4 sparsity"
        " (fp8_sparse_per_gpu_pflops), which no dense training step uses"
    )
    return out


def params_for(ctx: Any) -> ScaleParams:
    return from_cluster(ctx.cluster, ctx.profile.peaks.tdp_w)


def measured_power(ctx: Any) -> tuple[float, str] | None:
    """The Run's GPU power, only when the Run was measured on the plan's GPU (never a CPU's)."""
    run = getattr(ctx, "run_doc", None)
    measured_here = any(v.get("kind") == "measured" for v in ctx.profile.provenance.values())
    return measured_gpu_watts(run) if run and measured_here else None


def training_section(params: Any, rel: Any, *, gpus: int, tokens: float,
                     ideal_h: float) -> dict[str, Any]:
    """The Plan's ``training``: wall time, GPU-hours and goodput of ``tokens`` on ``gpus``,
    ``ideal_h`` hours without interruptions stretched by the reliability model's goodput."""
    wall_h = ideal_h / rel.goodput
    return {
        "tokens": tokens,
        "days": wall_h / 24.0,
        "gpu_hours": wall_h * gpus,
        "goodput": rel.goodput,
        "interruptions": wall_h * gpus * params.interruptions_per_gpu_hour,
        "ideal_days": ideal_h / 24.0,
        "effective_training_time": rel.goodput,
        "interruptions_per_day": rel.interruptions_per_day,
        "mtbf_hours": rel.mtbf_hours,
        "checkpoint_bytes": rel.checkpoint_bytes,
        "checkpoint_write_s": rel.checkpoint_write_s,
        "checkpoint_interval_s": rel.interval_s,
        "restart_s": rel.restart_s,
        "lost_hours_per_interruption": rel.lost_hours_per_interruption,
        "goodput_first_order": rel.goodput_first_order,
        "kind": "published",
        "source": (
            f"interruptions {params.interruptions_per_gpu_hour:.3g}/GPU-h"
            f" ({params.provenance['interruptions_per_gpu_hour']['source']}); checkpoint"
            f" {params.checkpoint_bytes_per_param:g} B/param at"
            f" {params.storage_write_gbytes_per_s:g} GB/s; restart {params.restart_minutes:g} min;"
            " Daly interval and expected wall time (reliability.py)"
        ),
    }


def scale_sections(ctx: Any, *, gpus: int, tokens: float, tokens_per_s_per_gpu: float,
                   draws: int = UNCERTAINTY_DRAWS) -> dict[str, Any]:
    """``training``, ``power``, ``cost``, ``uncertainty`` and ``fabric`` of a Plan."""
    params = params_for(ctx)
    ideal_h = tokens / (tokens_per_s_per_gpu * gpus) / 3600.0
    rel = reliability(
        gpus=gpus,
        params=total_params(ctx.model),
        rate_per_gpu_hour=params.interruptions_per_gpu_hour,
        restart_minutes=params.restart_minutes,
        storage_gbytes_per_s=params.storage_write_gbytes_per_s,
        bytes_per_param=params.checkpoint_bytes_per_param,
    )
    training = training_section(params, rel, gpus=gpus, tokens=tokens, ideal_h=ideal_h)
    wall_h, gpu_hours = ideal_h / rel.goodput, training["gpu_hours"]
    fabric = size_fabric(ctx.cluster, gpus)
    power = power_section(params, gpus, wall_h, measured_power(ctx))
    cost = cost_section(
        params, gpus=gpus, gpu_hours=gpu_hours, it_w_per_gpu=power["it_w_per_gpu"], fabric=fabric
    )
    base = {
        "gpus": gpus,
        "ideal_hours": ideal_h,
        "checkpoint_bytes": rel.checkpoint_bytes,
        "power_utilisation": params.power_utilisation,
        "it_w_per_gpu": power["it_w_per_gpu"],
        "rated_kw_per_gpu": (
            (params.gpu_w + params.host_w_per_gpu) * (1 + params.network_storage_fraction) / 1000
        ),
        "dc_life_years": params.dc_life_years,
        "opex_fraction": params.opex_fraction,
    }
    unc = uncertainty_section(params, base, draws=draws) if draws else None
    return {"training": training, "power": power, "cost": cost, "uncertainty": unc,
            "fabric": fabric.as_dict(), "peak_eflops": peak_eflops(ctx.profile, gpus),
            "scale_assumptions": params.assumptions()}
