"""Regression tracking against the issue's targets: comparing two Runs of 500 results <= 2 s,
two Runs of 100,000 samples a side <= 2 s (issue 19), history over 1,000 Runs <= 10 s, and the
verdict and change-point rates of the simulations.

Run: ``python benchmarks/regress_speed.py`` (``nox -s benchmark`` runs it). Prints, never asserts.
Each timing is shown in-process (load + analyse + render) and as the whole CLI command
(``python -m exabench ...``: interpreter start and imports included).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

from exabench.analysis.regression.changepoint import e_divisive
from exabench.analysis.regression.comparison import compare_runs
from exabench.analysis.regression.history import analyse_history
from exabench.analysis.regression.stats import Gate, compare_samples
from exabench.commands.compare import load_runs
from exabench.commands.history import load_folder
from exabench.testing.synthetic_runs import gemm_run, stepped_history


def _cli(*args: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "exabench", *args], capture_output=True, check=False)
    return time.perf_counter() - start


def compare_speed(folder: Path) -> None:
    rng = np.random.default_rng(0)
    base = folder / "base.json"
    new = folder / "new.json"
    base.write_text(json.dumps(gemm_run("base", rng, results=500, samples=50)))
    new.write_text(json.dumps(gemm_run("new", rng, results=500, samples=50, slowdown=1.02)))
    start = time.perf_counter()
    doc = compare_runs(*load_runs(str(base), str(new)), gate=Gate())
    json.dumps(doc)
    inside = time.perf_counter() - start
    print(f"compare, 500 results x 50 samples (1000 rows): {inside:.2f} s in-process, "
          f"{_cli('compare', str(base), str(new), '--format', 'json'):.2f} s CLI (target <= 2 s); "
          f"verdicts {doc['counts']}")


def compare_many_samples_speed(folder: Path, samples: int = 100_000) -> None:
    """One GEMM result with ``samples`` timings a side and a planted 10 % slowdown (issue 19:
    from 515 a side ``compare`` died of an OverflowError)."""
    rng = np.random.default_rng(2)
    base = folder / "base_large.json"
    new = folder / "new_large.json"
    base.write_text(json.dumps(gemm_run("base", rng, results=1, samples=samples)))
    new.write_text(json.dumps(gemm_run("new", rng, results=1, samples=samples, slowdown=1.10)))
    start = time.perf_counter()
    doc = compare_runs(*load_runs(str(base), str(new)), gate=Gate())
    json.dumps(doc)
    inside = time.perf_counter() - start
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "exabench", "compare", str(base), str(new), "--format", "json"],
        capture_output=True, text=True, check=False,
    )
    cli = time.perf_counter() - start
    outcome = f"exit {proc.returncode}" + (", TRACEBACK" if "Traceback" in proc.stderr else "")
    print(f"compare, 1 result x {samples:,} samples a side: {inside:.2f} s in-process, {cli:.2f} s"
          f" CLI (target <= 2 s, no traceback); verdict {doc['verdict']} (10 % slower planted),"
          f" {outcome}")


def history_speed(folder: Path, runs: int = 1000, results: int = 6) -> None:
    history = folder / "history"
    history.mkdir()
    for doc in stepped_history(
        np.random.default_rng(1),
        runs=runs,
        results=results,
        steps={0: (400, 0.05), 1: (700, -0.04)},
        hours_apart=6,
        samples=20,
        id_digits=4,
    ):
        (history / f"{doc['id']}.json").write_text(json.dumps(doc))
    start = time.perf_counter()
    doc = analyse_history(load_folder(str(history)))
    json.dumps(doc)
    inside = time.perf_counter() - start
    found = {f"{s['name']} m={s['params']['m']}": [c["index"] for c in s["change_points"]]
             for s in doc["series"] if s["metric"] == "time" and s["change_points"]}
    print(
        f"history, {runs} runs x {results} results ({len(doc['series'])} series): {inside:.2f} s"
        f" in-process, {_cli('history', str(history), '--format', 'json'):.2f} s CLI (target <= 10"
        f" s); change points (planted at 400 and 700): {found}"
    )


def verdict_rates() -> None:
    def trials(n: int, slowdown: float, seed: int, count: int = 1000) -> Counter:
        rng = np.random.default_rng(seed)
        return Counter(
            compare_samples(
                np.exp(0.02 * rng.standard_normal(n)),
                slowdown * np.exp(0.02 * rng.standard_normal(n)),
                gate=Gate(),
            ).verdict
            for _ in range(count)
        )

    same, slower, few = trials(10, 1.0, 1), trials(10, 1.10, 2), trials(3, 1.5, 3)
    print(
        f"identical, 10 v 10, cv 2 %: unchanged {same['unchanged'] / 10:.1f} % (target >= 99 %)"
        f" {dict(same)}"
    )
    print(
        f"10 % slower, 10 v 10, cv 2 %: regressed {slower['regressed'] / 10:.1f} % (target >= 95 %)"
        f" {dict(slower)}"
    )
    print(f"50 % slower, 3 v 3: inconclusive {few['inconclusive'] / 10:.1f} % {dict(few)}")


def change_point_rates() -> None:
    rng = np.random.default_rng(40)
    hits = 0
    for trial in range(100):
        series = 1.0 + 0.01 * rng.standard_normal(60)
        series[40:] *= 1.05
        found = e_divisive(series, seed=trial)
        hits += len(found) == 1 and abs(found[0].index - 40) <= 2
    rng = np.random.default_rng(60)
    quiet = sum(not e_divisive(1.0 + 0.01 * rng.standard_normal(60), seed=t) for t in range(1000))
    print(f"60 runs, 5 % step at 40, 1 % noise: one change point within ±2 in {hits} of 100 trials")
    print(
        f"60 runs of pure noise: no change point in {quiet / 10:.1f} % of 1000 trials (target >="
        " 95 %)"
    )


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        compare_speed(Path(tmp))
        compare_many_samples_speed(Path(tmp))
        history_speed(Path(tmp))
    verdict_rates()
    change_point_rates()
