"""``exabench export RUN --format pytest-benchmark|bencher``: a Run for existing dashboards."""

from __future__ import annotations

import json
from pathlib import Path

import click

from exabench.documents import atomic_write_text
from exabench.documents.run import load_run
from exabench.errors import UserError
from exabench.reports.interop import to_bmf, to_pytest_benchmark


@click.command("export")
@click.argument("run", type=click.Path(dir_okay=True))
@click.option("--format", "fmt", type=click.Choice(["pytest-benchmark", "bencher"]), required=True,
              help="pytest-benchmark JSON (also read by Bencher and github-action-benchmark), or "
                   "Bencher Metric Format.")
@click.option("--out", "out_file", type=click.Path(dir_okay=False), default=None,
              help="Write to this file (atomically) instead of standard output.")
def command(run: str, fmt: str, out_file: str | None) -> None:
    """Write a Run in another tool's JSON shape: every raw sample kept, GPU facts and the
    fingerprint in machine_info, the timer used (CUDA events or perf_counter_ns) in options.

    \b
    Examples:
      exabench export results/run.json --format pytest-benchmark --out benchmark.json
      exabench export results/run.json --format bencher | bencher run --adapter json ...
    """
    if out_file and not Path(out_file).resolve().parent.is_dir():
        raise UserError(f"--out {out_file}: its folder does not exist")
    if Path(run).is_dir():
        raise UserError(f"{run} is a folder; export takes one Run file")
    doc = load_run(run)
    converted = to_pytest_benchmark(doc) if fmt == "pytest-benchmark" else to_bmf(doc)
    text = json.dumps(converted, indent=2) + "\n"
    if out_file:
        atomic_write_text(Path(out_file), text)
        click.echo(f"wrote {out_file} ({fmt})", err=True)
    else:
        click.echo(text, nl=False)
