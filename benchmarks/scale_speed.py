"""Speed targets of the at-scale models (issue 6), printed as figures: 10,000 Monte Carlo draws
(uncertainty and the failure simulation) <= 5 s, a 20-point scaling curve with the best layout
at each size <= 10 s, on 2 CPU cores. Run: ``python benchmarks/scale_speed.py`` (or
``nox -s benchmark``).
"""

from __future__ import annotations

import time

from exabench.analysis.atscale.montecarlo import simulate
from exabench.analysis.atscale.params import from_cluster
from exabench.analysis.atscale.reliability import daly_interval
from exabench.analysis.atscale.uncertainty import uncertainty_section
from exabench.analysis.planner.scale import scaling_curve
from exabench.analysis.planner.step import Context
from exabench.workloads.clusters import load_cluster
from exabench.workloads.models import load_model
from exabench.workloads.profile import load_reference


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def main() -> None:
    cluster = load_cluster("colossus-100k")
    params = from_cluster(cluster, 700.0)
    base = {
        "gpus": 98_304,
        "ideal_hours": 13 * 24,
        "checkpoint_bytes": 5.67e12,
        "power_utilisation": 0.76,
        "it_w_per_gpu": 1066.0,
        "rated_kw_per_gpu": 1.4025,
        "dc_life_years": 15.0,
        "opex_fraction": 0.03,
    }
    unc, t_unc = timed(lambda: uncertainty_section(params, base, draws=10_000))
    print(f"uncertainty: 10,000 draws in {t_unc:.3f} s (target <= 5 s): days P10/P50/P90 "
          f"{unc['days']['p10']:.1f}/{unc['days']['p50']:.1f}/{unc['days']['p90']:.1f}")
    mtbf, delta = 1860.0, 2.84
    tau = daly_interval(delta, mtbf)
    sim, t_sim = timed(
        lambda: simulate(
            segments=int(13 * 86400 / tau),
            tau=tau,
            delta=delta,
            restart=600.0,
            mtbf=mtbf,
            draws=10_000,
        )
    )
    print(f"failure Monte Carlo: 10,000 jobs in {t_sim:.3f} s (target <= 5 s)")
    ctx = Context(load_model("llama3-405b"), load_reference("h100-sxm"), cluster)
    rows, t_curve = timed(lambda: scaling_curve(ctx, points=20, tokens=15.6e12))
    fits = [r for r in rows if r["fits"]]
    print(
        f"scaling curve: {len(rows)} points ({len(fits)} feasible) llama3-405b on colossus-100k in"
        f" {t_curve:.2f} s (target <= 10 s); at {fits[-1]['gpus']:,} GPUs MFU"
        f" {fits[-1]['mfu']:.1%}, {fits[-1]['days']:.1f} days"
    )


if __name__ == "__main__":
    main()
