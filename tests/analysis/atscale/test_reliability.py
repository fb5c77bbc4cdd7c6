from __future__ import annotations

import math

import pytest

from exabench.analysis.atscale.montecarlo import simulate, simulate_events
from exabench.analysis.atscale.params import LLAMA3_RATE
from exabench.analysis.atscale.reliability import (
    daly_interval,
    expected_wall,
    job_mtbf_hours,
    reliability,
    young_interval,
)


def test_llama3_rate_and_interruptions_per_day() -> None:
    assert LLAMA3_RATE == pytest.approx(1.97e-5, rel=0.01)
    assert job_mtbf_hours(16_384, LLAMA3_RATE) == pytest.approx(3.09, abs=0.02)
    per_day = 24 / job_mtbf_hours(100_000, LLAMA3_RATE)
    assert 30 <= per_day <= 70 and per_day == pytest.approx(47.4, abs=0.2)


def test_daly_check_values() -> None:
    # Daly 2006 (FGCS 22(3):303), Figs. 3-5: minutes.
    assert daly_interval(5, 24 * 60) == pytest.approx(117, abs=0.5)
    assert daly_interval(5, 6 * 60) == pytest.approx(57, abs=0.5)
    assert daly_interval(5, 15) == pytest.approx(9.1, abs=0.1)
    assert young_interval(1, 30) == pytest.approx(math.sqrt(60))
    assert daly_interval(50, 20) == 20  # delta >= 2M


def test_llama3_goodput_over_90_percent_and_100k_much_lower() -> None:
    llama = reliability(
        gpus=16_384,
        params=405e9,
        rate_per_gpu_hour=LLAMA3_RATE,
        restart_minutes=10,
        storage_gbytes_per_s=2000,
        bytes_per_param=14,
    )
    assert llama.goodput > 0.9  # "> 90 % effective training time"
    big = reliability(gpus=100_000, params=405e9, rate_per_gpu_hour=LLAMA3_RATE, restart_minutes=10,
                      storage_gbytes_per_s=2000, bytes_per_param=14)
    assert big.checkpoint_bytes == pytest.approx(
        5.67e12
    ) and big.checkpoint_write_s == pytest.approx(2.835)
    assert (
        big.interval_s < 300 and 0.5 < big.goodput < 0.8
    )  # minutes, not hours, between checkpoints
    assert big.goodput_first_order == pytest.approx(big.goodput, abs=0.08)


def test_no_failures_means_full_goodput() -> None:
    r = reliability(
        gpus=8,
        params=8e9,
        rate_per_gpu_hour=0,
        restart_minutes=10,
        storage_gbytes_per_s=10,
        bytes_per_param=14,
    )
    assert r.goodput == 1.0 and r.interruptions_per_day == 0


@pytest.mark.parametrize(
    "mtbf, delta, restart", [(1860.0, 2.8, 600.0), (3 * 3600.0, 60.0, 600.0), (900.0, 30.0, 120.0)]
)
def test_monte_carlo_agrees_with_closed_form(mtbf: float, delta: float, restart: float) -> None:
    tau = daly_interval(delta, mtbf)
    segments = 500
    sim = simulate(
        segments=segments, tau=tau, delta=delta, restart=restart, mtbf=mtbf, draws=4000, seed=1
    )
    closed = expected_wall(segments * tau, tau, delta, restart, mtbf)
    assert abs(sim["mean"] - closed) < 4 * sim["sem"] + 1e-3 * closed
    assert sim["p10"] < closed < sim["p90"]


def test_event_simulation_agrees_with_vectorised() -> None:
    mtbf, delta, restart = 1800.0, 20.0, 300.0
    tau = daly_interval(delta, mtbf)
    events = [
        simulate_events(segments=100, tau=tau, delta=delta, restart=restart, mtbf=mtbf, seed=i)
        for i in range(400)
    ]
    closed = expected_wall(100 * tau, tau, delta, restart, mtbf)
    mean = sum(events) / len(events)
    assert mean == pytest.approx(closed, rel=0.03)
