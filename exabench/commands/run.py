"""``exabench run``: the main job. Benchmark this machine, plan the default scenario on what
was measured (or on the reference H100 profile, saying so), write the report."""

from __future__ import annotations

import json
from pathlib import Path

import click

from exabench.analysis.planner.scenario import default_scenario_plan
from exabench.bench.runner import run_benchmarks
from exabench.bench.sweeps import RunOptions
from exabench.commands._outcome import end, show
from exabench.documents import atomic_write_text
from exabench.documents.run import load_run
from exabench.reports.terminal import summary


@click.command("run")
@click.option("--quick", is_flag=True, help="A small representative subset of every benchmark.")
@click.option(
    "--out",
    "out_dir",
    default="results",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Folder for the Run, the Plan and the report.",
)
@click.option(
    "--device", default=None, help="cuda, cuda:N or cpu (default: a GPU when there is one)."
)
@click.option(
    "--no-images", is_flag=True, help="Skip the PNG/SVG chart export (HTML and Markdown only)."
)
@click.option(
    "--resume",
    default=None,
    metavar="RUN",
    type=click.Path(dir_okay=False),
    help="Continue this interrupted Run (same options), then plan and report.",
)
def command(
    quick: bool, out_dir: str, device: str | None, no_images: bool, resume: str | None
) -> None:
    """The main job: benchmark this machine, plan a 100k-GPU training run from it, report.

    \b
    1. `bench all` on this machine (GEMM, memory, collectives) -> a Run document;
    2. the default scenario, a Llama-3-405B-scale pre-training run (15.6T tokens) on
       colossus-100k, planned on this machine's Run when it is an H100-class GPU, else on
       the reference H100 SXM profile (the summary says which);
    3. an offline HTML + Markdown report of both, with PNG and SVG charts.

    \b
    Examples:
      exabench run --quick
      exabench run --out results/node17
      exabench run --quick --device cpu --no-images
      exabench run --quick --resume results/20261125T223837Z_vm_419dab51.json   # after a crash
    """
    # altair and vl-convert (the charts) load in a second: only when a report is built.
    from exabench.reports.build import build_report

    outcome = run_benchmarks(RunOptions(quick=quick, device=device, out_dir=out_dir, resume=resume))
    show(outcome, as_json=False, headline=False)  # the summary below has the headline figures
    run = load_run(outcome.path)
    plan = default_scenario_plan(run)
    plan_path = Path(out_dir) / f"{outcome.path.stem}_plan.json"
    atomic_write_text(plan_path, json.dumps(plan, indent=1, default=str) + "\n")
    report = build_report([outcome.path, plan_path], Path(out_dir) / "report", images=not no_images)
    click.echo(summary(run, plan, {"run": str(outcome.path), "plan": str(plan_path),
                                   "report (HTML)": str(report[0]),
                                   "report (Markdown)": str(report[1])}))
    end(outcome.exit_code, outcome.message)
