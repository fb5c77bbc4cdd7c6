"""``exabench history DIR``: each benchmark's series per fingerprint, with its change points."""

from __future__ import annotations

import json
from pathlib import Path

import click

from exabench.analysis.regression.history import analyse_history
from exabench.commands.compare import load_document
from exabench.documents.run import Run
from exabench.errors import UserError
from exabench.reports.regression import history_table


def load_folder(folder: str) -> list[Run]:
    """Every ``*.json`` under ``folder`` as a validated Run or a converted pytest-benchmark file
    (:func:`exabench.commands.compare.load_document`); a bad one stops with its name."""
    root = Path(folder)
    if not root.exists():
        raise UserError(
            f"{folder}: no such folder; give the folder that holds the Runs (e.g. results/)"
        )
    if not root.is_dir():
        raise UserError(
            f"{folder} is a file; history takes a folder of Runs (compare takes two files)"
        )
    paths = sorted(p for p in root.rglob("*.json") if not p.name.startswith("."))
    if not paths:
        raise UserError(
            f"{folder} holds no Run documents (*.json); write some with 'exabench bench ... --out"
            f" {folder}', or give a folder of pytest-benchmark JSON files (e.g. .benchmarks/)"
        )
    return [load_document(path) for path in paths]


@click.command("history")
@click.argument("folder", type=click.Path(file_okay=True))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="table for a terminal, json for scripts and dashboards.",
)
@click.option(
    "--p-value",
    type=click.FloatRange(min=0, max=1, min_open=True, max_open=True),
    default=0.01,
    show_default=True,
    help="Significance level of each change point (permutation test).",
)
@click.option(
    "--permutations",
    type=click.IntRange(min=1),
    default=199,
    show_default=True,
    help="Permutations per significance test.",
)
@click.option(
    "--min-size",
    type=click.IntRange(min=1),
    default=3,
    show_default=True,
    help="Fewest runs between two change points (so one outlier is not a change).",
)
@click.option(
    "--metric",
    "metrics",
    multiple=True,
    help="Only this metric (time, tflops, gbps, algbw_gbps, busbw_gbps); repeatable.",
)
@click.option("--changes-only", is_flag=True, help="List only the series that have a change point.")
def command(folder: str, fmt: str, p_value: float, permutations: int, min_size: int,
            metrics: tuple[str, ...], changes_only: bool) -> None:
    """Change points over a folder of Runs: the series of each benchmark per machine fingerprint,
    ordered by time, split by E-divisive with a permutation test (Matteson & James 2014, as
    Apache Otava and MongoDB run it). Each change point names the run where it happened, the
    levels before and after, the magnitude and its p-value.

    The folder may also hold pytest-benchmark JSON files with raw timings (a .benchmarks/ folder
    saved with --benchmark-save-data, or --benchmark-json files): each benchmark is a series keyed
    by its fullname and params, ordered by the file's datetime, named by the file's stem.

    \b
    Examples:
      exabench history results/
      exabench history results/ --changes-only --metric time
      exabench history results/ --format json > history.json
      exabench history .benchmarks/
    """
    runs = load_folder(folder)
    doc = analyse_history(runs, p_value=p_value, permutations=permutations, min_size=min_size,
                          metrics=list(metrics) or None)
    if changes_only:
        doc["series"] = [s for s in doc["series"] if s["change_points"]]
    if fmt == "json":
        click.echo(json.dumps(doc, indent=1))
    else:
        click.echo(history_table(doc))
