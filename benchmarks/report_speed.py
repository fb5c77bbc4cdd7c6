"""Print the report figures issue 7 sets as targets (not asserted in unit tests).

Run: ``python benchmarks/report_speed.py`` (or ``nox -s benchmark``).

Target: a report of a full quick Run plus the default Plan renders in ≤ 10 s on 2 cores and
weighs ≤ 5 MB. Measured as a user meets it: ``exabench report RUN PLAN --out DIR`` in a fresh
process (imports included), once with an empty cache (the Vega bundle is built) and once warm.
Also prints the time for 50 Runs holding 10,000 telemetry points (the large-input case).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

EXABENCH = [sys.executable, "-m", "exabench"]
PLAN_ARGS = ["plan", "--model", "llama3-70b", "--gpus", "1024", "--format", "json"]


def make_inputs(work: Path) -> tuple[Path, Path, str]:
    """A full quick CPU Run (``bench all --quick``) and the default Plan (synthetic if ``plan``
    fails)."""
    runs = work / "runs"
    subprocess.run([*EXABENCH, "bench", "all", "--quick", "--device", "cpu", "--out", str(runs)],
                   check=True, stdout=subprocess.DEVNULL)
    run = next(runs.glob("*.json"))
    plan = work / "plan.json"
    made = subprocess.run([*EXABENCH, *PLAN_ARGS], capture_output=True, text=True)
    if made.returncode == 0:
        plan.write_text(made.stdout)
        what = "exabench " + " ".join(PLAN_ARGS)
    else:
        from exabench.testing.samples import sample_plan

        plan.write_text(json.dumps(sample_plan(gpus=1024)))
        what = f"synthetic sample plan (exabench plan failed: {made.stderr.strip()[:120]})"
    return run, plan, what


def timed_report(inputs: list[Path], out: Path, cache: Path) -> float:
    env = {**os.environ, "XDG_CACHE_HOME": str(cache)}
    start = time.perf_counter()
    subprocess.run([*EXABENCH, "report", *map(str, inputs), "--out", str(out)], check=True, env=env,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def size_mb(folder: Path) -> tuple[float, float]:
    html = (folder / "report.html").stat().st_size / 1e6
    total = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6
    return html, total


def main() -> None:
    print(f"Report speed and size (CPU cores: {os.cpu_count()}; targets: ≤ 10 s, ≤ 5 MB)")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        run, plan, what = make_inputs(work)
        print(
            f"  inputs: {run.name} ({len(json.loads(run.read_text())['results'])} results), plan:"
            f" {what}"
        )
        for label, cache in (
            ("cold (Vega bundle built)", work / "cache"),
            ("warm (bundle cached)", work / "cache"),
        ):
            seconds = timed_report([run, plan], work / "report", cache)
            html, total = size_mb(work / "report")
            verdict = "OK" if seconds <= 10 and html <= 5 else "OVER TARGET"
            print(
                f"  {label:26s}: {seconds:5.2f} s; report.html {html:.2f} MB, with charts/"
                f" {total:.2f} MB  {verdict}"
            )

        from exabench.testing.samples import sample_run

        many = work / "many"
        many.mkdir()
        for i in range(50):
            (many / f"run{i:02d}.json").write_text(
                json.dumps(sample_run(seed=i, run_id=f"run-{i:02d}", timeline_points=200))
            )
        seconds = timed_report([many], work / "report-many", work / "cache")
        html, total = size_mb(work / "report-many")
        print(f"  50 Runs, 10,000 telemetry points: {seconds:5.2f} s; report.html {html:.2f} MB, "
              f"with charts/ {total:.2f} MB")


if __name__ == "__main__":
    main()
