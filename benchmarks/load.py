"""Load: the figures of issue 9, printed (never asserted; the unit tests hold smaller versions).

- a sweep of 10,000 small GEMM shapes on the CPU (``exabench bench gemm`` in-process): time and
  the growth of the resident set from the 200th result to the end (target < 50 MB);
- ``exabench history`` over 5,000 Runs (synthetic, two planted steps);
- ``exabench search`` on a 100,000-GPU cluster (colossus-100k) for every shipped model.

Run: ``python benchmarks/load.py [gemm|history|search ...]`` (all three by default). About
3 minutes on a 2-core CPU.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from exabench.bench.runner import run_benchmarks
from exabench.bench.sweeps import GemmSweep, RunOptions
from exabench.cli import main


def rss_mb() -> float:
    """Resident set size now (Linux /proc), MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cli(*args: str) -> tuple[int, str, float]:
    """The CLI in-process: (exit code, stdout or, on failure, stderr, seconds)."""
    out, err = io.StringIO(), io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(list(args))
            code = 0
        except SystemExit as end:
            code = end.code if isinstance(end.code, int) else 1
    return (
        code,
        out.getvalue() if code == 0 else err.getvalue().strip(),
        time.perf_counter() - start,
    )


def small_shapes(count: int) -> tuple[tuple[int, int, int], ...]:
    """``count`` distinct MxNxK shapes with sides 8..92 (microseconds of work each)."""
    sides = range(8, 96, 4)
    shapes = [(m, n, k) for m in sides for n in sides for k in sides]
    assert len(shapes) >= count
    return tuple(shapes[:count])


def gemm_sweep_rss(shapes: int, out_dir: str) -> dict[str, float]:
    """Sweep ``shapes`` GEMM shapes on the CPU (the runner, as ``exabench bench gemm --shapes``
    drives it); RSS at the 200th result and its peak after."""
    from exabench.bench import writer
    from exabench.documents.run import load_run

    marks: dict[str, float] = {}
    add = writer.RunWriter.add

    def watched(self, result):
        add(self, result)
        count = len(self.doc["results"])
        if count == min(200, shapes // 2):
            marks["at_start"] = rss_mb()
        if count % 100 == 0 or count == shapes:
            marks["peak"] = max(marks.get("peak", 0.0), rss_mb())

    writer.RunWriter.add = watched
    try:
        start = time.perf_counter()
        options = RunOptions(device="cpu", out_dir=out_dir, quiet=True, warmup_ms=0, rep_ms=1,
                             telemetry_hz=0)
        code = run_benchmarks(
            options, [GemmSweep(dtype=("fp32",), shapes=small_shapes(shapes))]
        ).exit_code
        seconds = time.perf_counter() - start
    finally:
        writer.RunWriter.add = add
    run = next(Path(out_dir).glob("*.json"))
    results = len(load_run(run)["results"])
    return {
        "exit": code,
        "seconds": seconds,
        "results": results,
        "growth_mb": marks["peak"] - marks["at_start"],
        "rss_mb": marks["peak"],
        "file_mb": run.stat().st_size / 1e6,
    }


def gemm(folder: Path) -> None:
    figures = gemm_sweep_rss(10_000, str(folder / "gemm"))
    print(
        f"gemm sweep, 10,000 shapes on the CPU: exit {figures['exit']}, {figures['results']:,}"
        f" results in {figures['seconds']:.1f} s; RSS growth {figures['growth_mb']:.1f} MB after"
        f" the 200th result (target < 50 MB; peak RSS {figures['rss_mb']:.0f} MB; Run file"
        f" {figures['file_mb']:.1f} MB)"
    )


def history(folder: Path, runs: int = 5000, results: int = 4) -> None:
    from exabench.testing.synthetic_runs import stepped_history

    where = folder / "history"
    where.mkdir()
    for doc in stepped_history(
        np.random.default_rng(5),
        runs=runs,
        results=results,
        steps={0: (2000, 0.05), 1: (3500, -0.04)},
        hours_apart=1,
        samples=10,
        id_digits=5,
    ):
        (where / f"{doc['id']}.json").write_text(json.dumps(doc))
    before = rss_mb()
    code, text, seconds = cli("history", str(where), "--format", "json", "--metric", "time")
    doc = json.loads(text) if code == 0 else {"series": []}
    found = {
        f"m={s['params']['m']}": [c["index"] for c in s["change_points"]]
        for s in doc["series"]
        if s["change_points"]
    }
    print(
        f"history over {runs:,} Runs x {results} results: exit {code}, {seconds:.1f} s, RSS"
        f" +{rss_mb() - before:.0f} MB; change points (planted at 2000 and 3500): {found}"
    )


def search() -> None:
    from exabench.workloads.tomlfile import shipped_names

    # The cluster as given (100,000 = 2^5 x 5^5 GPUs: the planner uses its largest part a
    # power-of-two batch splits), then --gpus 98,304 explicitly (the default scenario's count).
    for gpus in (None, 98_304):
        total = 0.0
        for model in shipped_names("models"):
            extra = ["--gpus", str(gpus)] if gpus else []
            code, text, seconds = cli(
                "search",
                "--model",
                model,
                "--cluster",
                "colossus-100k",
                *extra,
                "--top",
                "1",
                "--format",
                "json",
            )
            total += seconds
            best = text
            if code == 0:
                layouts = json.loads(text)["layouts"]
                best = _best(layouts[0]) if layouts else "no feasible layout"
            print(
                f"search {model:>18} on colossus-100k ({gpus or 100_000:,} GPUs): exit {code},"
                f" {seconds:6.2f} s  {best}"
            )
        print(f"search, every shipped model on {gpus or 100_000:,} GPUs: {total:.1f} s in all")


def _best(plan: dict) -> str:
    layout = plan["inputs"].get("layout") or {}
    shown = " ".join(f"{k}{layout[k]}" for k in ("tp", "pp", "cp", "ep", "dp") if k in layout)
    return (
        f"{plan['inputs'].get('gpus', '?')} GPUs {shown} MFU {plan['mfu']:.1%},"
        f" {plan['step_time_s']:.2f} s/step"
    )


if __name__ == "__main__":
    which = sys.argv[1:] or ["gemm", "history", "search"]
    with tempfile.TemporaryDirectory() as tmp:
        for name in which:
            if name == "gemm":
                gemm(Path(tmp))
            elif name == "history":
                history(Path(tmp))
            elif name == "search":
                search()
            else:
                sys.exit(f"unknown figure {name!r}; valid: gemm, history, search")
