"""Power and energy of a training job (the model and its sources: docs/at-scale.md).

Per GPU, average during training: ``P_gpu + P_host``, times ``1 + f`` for network and storage:

- P_gpu: measured when the plan's Run carries telemetry for this GPU (the mean power of its
  busiest GEMM, the nearest thing to a training step a node benchmark has), else the TDP times
  the published utilisation factor (Newkirk et al.: 76 % of rated power in compute-intensive
  training; Epoch 0.75, 90 % CI 0.5-1.0);
- P_host: the non-GPU server share (CPU, NIC, fans, PSU losses, ~575 W/GPU rated for HGX H100)
  times the same factor.

IT MW = N x per-GPU W; facility MW = IT x PUE. The rated (provisioned) figures use the TDP
and the host share unscaled: what the datacenter must be built for. Energy = facility MW x
wall hours; emissions = energy x grid intensity.
"""

from __future__ import annotations

from typing import Any

from exabench.analysis.atscale.params import ScaleParams


def measured_gpu_watts(run: dict[str, Any] | None) -> tuple[float, str] | None:
    """(W, source) from a Run's telemetry: the busiest ok GEMM's window mean, else the run-wide
    mean."""
    if not run:
        return None
    best: tuple[float, float, str] | None = None
    for r in run.get("results") or []:
        tel, metrics = r.get("telemetry") or {}, r.get("metrics") or {}
        if (
            r.get("suite") == "gemm"
            and r.get("status") == "ok"
            and tel.get("power_mean_w")
            and metrics.get("tflops")
        ):
            cand = (
                float(metrics["tflops"]),
                float(tel["power_mean_w"]),
                str(r.get("name", "gemm")),
            )
            if best is None or cand[0] > best[0]:
                best = cand
    if best:
        return (
            best[1],
            (
                f"measured in Run {run.get('id', '?')}: mean GPU power during {best[2]}"
                f" ({best[0]:.0f} TFLOP/s)"
            ),
        )
    tel = run.get("telemetry") or {}
    if tel.get("power_mean_w"):
        return (
            float(tel["power_mean_w"]),
            f"measured in Run {run.get('id', '?')}: run-wide mean GPU power",
        )
    return None


def power_section(params: ScaleParams, gpus: int, wall_hours: float,
                  measured: tuple[float, str] | None = None) -> dict[str, Any]:
    """The Plan's ``power`` section: average and rated IT / facility MW, energy, emissions."""
    u, f, pue = params.power_utilisation, params.network_storage_fraction, params.pue
    if measured:
        gpu_w, gpu_kind, gpu_src = measured[0], "measured", measured[1]
    else:
        gpu_w = params.gpu_w * u
        gpu_kind = "published"
        gpu_src = (
            f"TDP {params.gpu_w:.0f} W x utilisation {u:.2f}"
            f" ({params.provenance['power_utilisation']['source']})"
        )
    per_gpu_w = (gpu_w + params.host_w_per_gpu * u) * (1 + f)
    rated_w = (params.gpu_w + params.host_w_per_gpu) * (1 + f)
    it_mw = gpus * per_gpu_w / 1e6
    facility_mw = it_mw * pue
    energy_mwh = facility_mw * wall_hours
    return {
        "it_mw": it_mw,
        "facility_mw": facility_mw,
        "energy_mwh": energy_mwh,
        "it_mw_rated": gpus * rated_w / 1e6,
        "facility_mw_rated": gpus * rated_w * pue / 1e6,
        "gpu_w": gpu_w,
        "it_w_per_gpu": per_gpu_w,
        "pue": pue,
        "emissions_tco2": energy_mwh * 1e3 * params.grid_kg_co2_per_kwh / 1e3,
        "kind": gpu_kind,
        "source": (
            f"GPU {gpu_w:.0f} W ({gpu_kind}: {gpu_src}) + host {params.host_w_per_gpu:.0f} W x"
            f" {u:.2f}, +{f:.0%} network/storage, PUE {pue:.2f}; energy = facility MW x wall hours"
            " (power.py)"
        ),
    }
