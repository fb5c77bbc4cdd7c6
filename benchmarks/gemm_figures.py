"""Print the GEMM performance figures that issue 2 sets as targets (not asserted in unit tests).

Run: ``python benchmarks/gemm_figures.py`` (or ``nox -s benchmark``).

CPU: for square fp32 sizes up to 2048, the harness's median time against a plain ``torch.mm``
loop timed with ``perf_counter`` in the same process: the harness must add no overhead
(target: within 10 %).

GPU (H100 SXM targets): bf16 MAMF ≥ 760 TFLOP/s; 8192³ bf16 within 2 % of ``torch.mm`` timed
with ``triton.testing.do_bench``; fp8 ≥ 1,300; tf32 ≥ 350; cv ≤ 1 % for sizes ≥ 4096.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from exabench.bench.device import Device, resolve
from exabench.bench.gemm.cases import GemmCase, tflops
from exabench.bench.harness import TimingConfig, measure

PREWARM_S = 15.0
"""Shorter than mamf-finder's 30 s: the device budget of a lent GPU is minutes."""


def plain_loop_median(n: int, reps: int) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    c = torch.empty(n, n)
    for _ in range(3):
        torch.mm(a, b, out=c)
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        torch.mm(a, b, out=c)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def cpu_overhead() -> bool:
    print("CPU: harness median vs plain torch.mm loop (fp32, same process; target within 10 %)")
    print(f"{'size':>6} {'harness(us)':>12} {'plain(us)':>10} {'ratio':>7}  verdict")
    config = TimingConfig(warmup_ms=100, rep_ms=600, min_samples=15, max_samples=400, flush="none")
    ok = True
    for n in (256, 512, 1024, 2048):
        # Alternate three rounds and keep the best median of each: other processes on a
        # shared machine slow one side or the other at random, never both for long.
        plains, harnesses = [], []
        for _ in range(3):
            plains.append(plain_loop_median(n, 15 if n >= 2048 else 60))
            harnesses.append(
                measure(GemmCase(n, n, n, "fp32"), Device("cpu"), config)["stats"]["median"]
            )
        plain, harness = min(plains), min(harnesses)
        ratio = harness / plain
        verdict = "ok" if abs(ratio - 1) <= 0.10 else "MISSED"
        ok &= verdict == "ok"
        print(f"{n:>6} {harness * 1e6:>12.1f} {plain * 1e6:>10.1f} {ratio:>7.3f}  {verdict}")
    return ok


def gpu_figures(device: Device, mamf_budget_s: float) -> None:
    from exabench.bench.gemm.mamf import mamf_search
    from exabench.bench.gemm.prewarm import prewarm

    config = TimingConfig(warmup_ms=500, rep_ms=1000, flush="l2")
    print(f"GPU: {device.name()}")
    warm = prewarm(device, PREWARM_S)
    print(
        f"  prewarm: {warm['seconds']:.0f} s of bf16 8192^3 at {warm['tflops']:.0f} TFLOP/s"
        " (figures below are warm)"
    )
    rows = []
    for dtype, target in (("tf32", 350), ("bf16", None), ("fp8", 1300)):
        for n in (4096, 8192):
            r = measure(GemmCase(n, n, n, dtype), device, config)
            if r["status"] != "ok":
                print(f"  {dtype} {n}^3: {r['status']} {r['error']}")
                continue
            cv = r["stats"]["cv"] * 100
            t = r["metrics"]["tflops"]
            note = (
                f"target >= {target}: {'ok' if t >= target else 'MISSED'}"
                if target and n == 8192
                else ""
            )
            rows.append((dtype, n, t, r["metrics"]["pct_of_peak"], cv))
            print(
                f"  {dtype:>5} {n}^3  {t:8.1f} TFLOP/s  {r['metrics']['pct_of_peak'] or 0:5.1f} %"
                f" of peak  cv {cv:.2f} % ({'ok' if cv <= 1 else 'MISSED'} <= 1 %)  {note}"
            )
    try:
        from triton.testing import do_bench

        n = 8192
        a = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
        b = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
        ms = do_bench(lambda: torch.mm(a, b), warmup=500, rep=1000, return_mode="median")
        ours = next(t for d, s, t, _, _ in rows if d == "bf16" and s == n)
        theirs = tflops(n, n, n, ms * 1e-3)
        gap = 100 * (ours - theirs) / theirs
        print(
            f"  8192^3 bf16: harness {ours:.1f} vs triton do_bench {theirs:.1f} TFLOP/s: {gap:+.2f}"
            f" % ({'ok' if abs(gap) <= 2 else 'MISSED'} within 2 %)"
        )
    except Exception as error:  # noqa: BLE001 - triton is optional
        print(f"  triton do_bench comparison not run: {error}")
    best = mamf_search(device, "bf16", (4096, 4096, 4096), budget_s=mamf_budget_s)
    p = best["params"]
    print(
        f"  MAMF bf16: {best['metrics'].get('tflops', 0):.1f} TFLOP/s at {p['m']}x{p['n']}x{p['k']}"
        f" ({len(best['candidates'])} shapes in {mamf_budget_s:.0f} s; target >= 760:"
        f" {'ok' if best['metrics'].get('tflops', 0) >= 760 else 'MISSED'})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mamf-budget-s", type=float, default=60.0)
    args = parser.parse_args()
    device = resolve(None)
    if device.is_cuda:
        gpu_figures(
            device, args.mamf_budget_s
        )  # the CPU target is for CPU machines: not on lent GPU time
    else:
        print("No CUDA GPU: the H100 figures need one (run this script on a GPU node).")
        cpu_overhead()


if __name__ == "__main__":
    main()
