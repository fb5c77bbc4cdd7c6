"""Monte Carlo of a job under random interruptions: the check on reliability.py's closed form.

The process (the one Daly 2006 solves): the job computes in segments of ``tau`` followed by a
blocking checkpoint write of ``delta``. Interruptions arrive as a Poisson process of rate 1/M
(exponential gaps, at any time: computing, writing, restarting). An interruption loses the
segment in progress and starts a restart of ``R``, itself lost and repeated if interrupted.

:func:`simulate` draws many jobs at once with numpy (fixed seed): per job the number of failed
segment attempts is negative-binomial (n segments, success probability e^-(tau+delta)/M), each
failed attempt loses an exponential time truncated to the segment, and each recovery is a
geometric series of truncated restarts. :func:`simulate_events` walks one job event by event
(slow, plain Python) so the vectorised sampler is itself checked against the literal process.
"""

from __future__ import annotations

import math
import random

import numpy as np


def _truncated_exp(rng: np.random.Generator, mean: float, limit: float, size: int) -> np.ndarray:
    """Exponential(mean) conditioned on being below ``limit`` (inverse CDF)."""
    u = rng.random(size)
    return -mean * np.log1p(-u * -np.expm1(-limit / mean))


def _sum_by_job(
    rng: np.random.Generator, counts: np.ndarray, mean: float, limit: float
) -> np.ndarray:
    total = int(counts.sum())
    if total == 0:
        return np.zeros(len(counts))
    values = _truncated_exp(rng, mean, limit, total)
    return np.bincount(
        np.repeat(np.arange(len(counts)), counts), weights=values, minlength=len(counts)
    )


def simulate(
    *,
    segments: int,
    tau: float,
    delta: float,
    restart: float,
    mtbf: float,
    draws: int = 10_000,
    seed: int = 0,
) -> dict[str, float | np.ndarray]:
    """Wall time of ``draws`` jobs of ``segments`` x (tau + delta); mean, P10/P50/P90 and
    interruptions."""
    rng = np.random.default_rng(seed)
    seg = tau + delta
    failures = rng.negative_binomial(segments, math.exp(-seg / mtbf), size=draws)
    lost = _sum_by_job(rng, failures, mtbf, seg)
    failed_restarts = np.where(
        failures > 0, rng.negative_binomial(np.maximum(failures, 1), math.exp(-restart / mtbf)), 0
    )
    lost_restarts = (
        _sum_by_job(rng, failed_restarts, mtbf, restart) if restart > 0 else np.zeros(draws)
    )
    wall = segments * seg + lost + failures * restart + lost_restarts
    p10, p50, p90 = np.percentile(wall, [10, 50, 90])
    return {
        "wall": wall,
        "mean": float(wall.mean()),
        "sem": float(wall.std(ddof=1) / math.sqrt(draws)),
        "p10": float(p10),
        "p50": float(p50),
        "p90": float(p90),
        "interruptions_mean": float((failures + failed_restarts).mean()),
    }


def simulate_events(
    *, segments: int, tau: float, delta: float, restart: float, mtbf: float, seed: int = 0
) -> float:
    """One job, event by event: the literal process the vectorised sampler must reproduce."""
    rng = random.Random(seed)
    clock, done = 0.0, 0
    next_failure = rng.expovariate(1.0 / mtbf)
    while done < segments:
        end = clock + tau + delta
        if next_failure >= end:
            clock, done = end, done + 1
            continue
        clock = next_failure  # the segment in progress is lost
        next_failure = clock + rng.expovariate(1.0 / mtbf)
        while next_failure < clock + restart:  # interrupted restarts start over
            clock = next_failure
            next_failure = clock + rng.expovariate(1.0 / mtbf)
        clock += restart
    return clock
