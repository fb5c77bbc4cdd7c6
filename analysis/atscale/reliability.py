"""Failures, checkpoints and goodput of one training job: the closed forms.

Symbols (as in docs/at-scale.md): N GPUs, lambda interruptions per GPU-hour,
M = 1 / (N lambda) the job's mean time between interruptions, delta the blocking checkpoint
write, tau the compute between checkpoints, R the restart (detect, reschedule, reload).

- Checkpoint: bytes = params x bytes/param (bf16 weights, fp32 master, Adam m, v);
  delta = bytes / storage write bandwidth.
- Interval: Young (1974, CACM 17(9):530) ``tau = sqrt(2 delta M)``; Daly (2006, FGCS 22(3):303)
  ``tau = sqrt(2 delta M) [1 + sqrt(delta / 2M) / 3 + delta / 18M] - delta`` for delta < 2M,
  else ``tau = M``. Daly's check values: M = 24 h, delta = 5 min -> 117 min (tests).
- Expected wall time (Daly 2006, eq. 13, exponential failures, failures also during checkpoint
  writes and restarts): ``T_wall = M e^(R/M) (e^((tau + delta)/M) - 1) T_solve / tau``.
  Goodput (effective training time) = T_solve / T_wall. The first-order form
  ``1 - delta/tau - (tau/2 + R)/M`` is given alongside. montecarlo.py simulates the same process
  and must agree with T_wall (tests).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from exabench.errors import UserError


def job_mtbf_hours(gpus: int, rate_per_gpu_hour: float) -> float:
    """Mean hours between interruptions of a job on ``gpus`` GPUs (inf when the rate is 0)."""
    return math.inf if rate_per_gpu_hour <= 0 else 1.0 / (gpus * rate_per_gpu_hour)


def young_interval(delta: float, mtbf: float) -> float:
    """Young's optimal compute time between checkpoints (same unit as the inputs)."""
    return math.sqrt(2.0 * delta * mtbf)


def daly_interval(delta: float, mtbf: float) -> float:
    """Daly's higher-order optimum (2006, eq. 37); ``mtbf`` when delta >= 2M."""
    if math.isinf(mtbf):
        return math.inf
    if delta >= 2.0 * mtbf:
        return mtbf
    root = math.sqrt(delta / (2.0 * mtbf))
    return math.sqrt(2.0 * delta * mtbf) * (1.0 + root / 3.0 + delta / (18.0 * mtbf)) - delta


def expected_wall(solve: float, tau: float, delta: float, restart: float, mtbf: float) -> float:
    """Daly's expected wall time to finish ``solve`` of compute, checkpointing every ``tau``."""
    if math.isinf(mtbf):
        return solve + delta * max(0.0, math.ceil(solve / tau) - 1) if math.isfinite(tau) else solve
    try:
        return mtbf * math.exp(restart / mtbf) * math.expm1((tau + delta) / mtbf) * solve / tau
    except OverflowError:  # interruptions far faster than a checkpoint plus restart: it never ends
        return math.inf


def first_order_goodput(tau: float, delta: float, restart: float, mtbf: float) -> float:
    return 1.0 - delta / tau - (tau / 2.0 + restart) / mtbf


@dataclass(kw_only=True, frozen=True)
class Reliability:
    gpus: int
    rate_per_gpu_hour: float
    mtbf_hours: float
    interruptions_per_day: float
    checkpoint_bytes: float
    checkpoint_write_s: float
    interval_s: float
    """Compute between checkpoints (Daly)."""
    restart_s: float
    goodput: float
    """Useful training time / wall time (Daly's exact expectation)."""
    goodput_first_order: float
    lost_hours_per_interruption: float
    """Mean rework + restart per interruption."""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def reliability(*, gpus: int, params: float, rate_per_gpu_hour: float, restart_minutes: float,
                storage_gbytes_per_s: float, bytes_per_param: float) -> Reliability:
    """The job's failure and checkpoint figures; all times in seconds except the MTBF."""
    mtbf_h = job_mtbf_hours(gpus, rate_per_gpu_hour)
    mtbf = mtbf_h * 3600.0
    ckpt = params * bytes_per_param
    delta = ckpt / (storage_gbytes_per_s * 1e9)
    restart = restart_minutes * 60.0
    if math.isinf(mtbf):
        return Reliability(
            gpus=gpus,
            rate_per_gpu_hour=rate_per_gpu_hour,
            mtbf_hours=mtbf_h,
            interruptions_per_day=0.0,
            checkpoint_bytes=ckpt,
            checkpoint_write_s=delta,
            interval_s=math.inf,
            restart_s=restart,
            goodput=1.0,
            goodput_first_order=1.0,
            lost_hours_per_interruption=0.0,
        )
    tau = daly_interval(delta, mtbf)
    wall = expected_wall(1.0, tau, delta, restart, mtbf)
    if not math.isfinite(wall):
        raise UserError(
            f"{gpus:,} GPUs at {rate_per_gpu_hour:g} interruptions per GPU-hour fail every"
            f" {mtbf:.3g} s, faster than a {delta:.3g} s checkpoint and a {restart:.3g} s restart:"
            " the job would never finish; check the cluster's reliability figures"
            " (interruptions_per_gpu_hour, restart_minutes)"
        )
    goodput = 1.0 / wall
    # Per unit of useful work, wall - 1 - delta/tau is lost to interruptions; spread over 1/M of
    # them.
    lost = (wall - 1.0 - delta / tau) * mtbf / wall / 3600.0
    return Reliability(
        gpus=gpus,
        rate_per_gpu_hour=rate_per_gpu_hour,
        mtbf_hours=mtbf_h,
        interruptions_per_day=24.0 / mtbf_h,
        checkpoint_bytes=ckpt,
        checkpoint_write_s=delta,
        interval_s=tau,
        restart_s=restart,
        goodput=goodput,
        goodput_first_order=first_order_goodput(tau, delta, restart, mtbf),
        lost_hours_per_interruption=lost,
    )
