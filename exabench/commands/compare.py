"""``exabench compare BASE NEW``: a regression verdict between two Runs (or pytest-benchmark JSON
files), as an exit code."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from exabench.analysis.regression.comparison import compare_runs, fingerprint_differences
from exabench.analysis.regression.pytest_benchmark import (
    is_converted,
    is_pytest_benchmark,
    read_timings,
    with_pytest_benchmark_keys,
)
from exabench.analysis.regression.stats import Gate
from exabench.analysis.regression.thresholds import Rules, parse_rules
from exabench.documents import read_json
from exabench.documents.run import Run, merge_journal
from exabench.errors import UserError
from exabench.reports.regression import compare_markdown, compare_table
from exabench.workloads.tomlfile import read_toml

EXIT_PASS, EXIT_REGRESSION, EXIT_INCONCLUSIVE = 0, 1, 3
EXIT_CODES = {"unchanged": EXIT_PASS, "improved": EXIT_PASS, "regressed": EXIT_REGRESSION,
              "inconclusive": EXIT_INCONCLUSIVE}


def load_document(path: str | Path) -> Run:
    """One Run or pytest-benchmark file as a Run-shaped dict
    (:func:`exabench.analysis.regression.pytest_benchmark.read_timings`); a bad file is a
    one-line UserError naming it and the formats read."""
    path = Path(path)
    doc = read_json(path, missing_hint="; give a Run JSON (exabench bench writes them under "
                                       "--out, default results/) or a pytest-benchmark JSON")
    if isinstance(doc, dict) and not is_pytest_benchmark(doc):
        merge_journal(doc, path)  # a Run being written keeps its newest results there
    return read_timings(doc, source=str(path), name=path.stem)


def load_runs(*paths: str) -> list[Run]:
    """Load and validate the files to compare (Runs or pytest-benchmark JSON); a folder or a
    bad file is a one-line UserError. A Run compared with a pytest-benchmark file takes the
    names its export would give its results, so the two match where they measure the same."""
    for path in paths:
        if Path(path).is_dir():
            raise UserError(f"{path} is a folder; compare takes two files, Runs or "
                            "pytest-benchmark JSON (exabench history takes a folder)")
    runs = [load_document(path) for path in paths]
    if any(map(is_converted, runs)):
        runs = [run if is_converted(run) else with_pytest_benchmark_keys(run) for run in runs]
    return runs


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


@click.command("compare")
@click.argument("base", type=click.Path(dir_okay=True))
@click.argument("new", type=click.Path(dir_okay=True))
@click.option(
    "--threshold",
    type=click.FloatRange(min=0, max=1000),
    default=None,
    help="Practical threshold in percent: smaller changes are never flagged (default 5).",
)
@click.option(
    "--alpha",
    type=click.FloatRange(min=0, max=1, min_open=True, max_open=True),
    default=0.01,
    show_default=True,
    help="Significance level of the Mann-Whitney U test; the CI level is 1 - alpha.",
)
@click.option(
    "--max-cv",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Stability gate in percent (robust cv); noisier results are inconclusive (default 10).",
)
@click.option(
    "--thresholds",
    "thresholds_file",
    type=click.Path(dir_okay=False),
    default=None,
    help="TOML file of per-benchmark thresholds (format: README, 'Regression tracking').",
)
@click.option(
    "--metric",
    "metrics",
    multiple=True,
    help="Compare only this metric (time, tflops, gbps, algbw_gbps, busbw_gbps); repeatable.",
)
@click.option(
    "--force", is_flag=True, help="Compare Runs from different hardware/software fingerprints."
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "markdown"]),
    default="table",
    show_default=True,
    help="table for a terminal, json for scripts, markdown for a PR comment.",
)
@click.pass_context
def command(
    ctx: click.Context,
    base: str,
    new: str,
    threshold: float | None,
    alpha: float,
    max_cv: float | None,
    thresholds_file: str | None,
    metrics: tuple[str, ...],
    force: bool,
    fmt: str,
) -> None:
    """Compare two Runs: per benchmark, the ratio of medians with a bootstrap CI, a Mann-Whitney
    U p-value and a verdict (regressed, improved, unchanged, inconclusive).

    BASE and NEW may also be pytest-benchmark JSON files with raw timings (pytest
    --benchmark-json, or --benchmark-save-data; exabench export --format pytest-benchmark): each
    benchmark is matched by its fullname and params. A Run against such a file matches by the
    names exabench export gives the Run's results.

    Exit status: 0 no regression, 1 regression, 3 inconclusive (too few samples or too noisy to
    tell), 2 bad input. Runs from different fingerprints are refused unless --force.

    \b
    Examples:
      exabench compare results/base.json results/new.json
      exabench compare base.json new.json --threshold 3 --alpha 0.001
      exabench compare base.json new.json --thresholds ci/thresholds.toml \\
          --format markdown > comment.md
      exabench compare base.json new.json --format json | jq .verdict
      exabench compare .benchmarks/Linux-CPython-3.11-64bit/0001_base.json new.json
    """
    rules = Rules()
    if thresholds_file:
        rules = parse_rules(read_toml(thresholds_file), source=thresholds_file)
    base_run, new_run = load_runs(base, new)
    differences = fingerprint_differences(base_run["environment"], new_run["environment"])
    if differences and not force:
        listed = "; ".join(
            f"{d['field']} {_short(d['base'])} vs {_short(d['new'])}" for d in differences[:4]
        )
        more = f" and {len(differences) - 4} more" if len(differences) > 4 else ""
        raise UserError(f"the runs come from different machines or software ({listed}{more}); "
                        "pass --force to compare them anyway")
    percent = threshold if threshold is not None else rules.threshold
    cv = max_cv if max_cv is not None else rules.max_cv
    gate = Gate(alpha=alpha,
                threshold=Gate.threshold if percent is None else percent / 100,
                max_cv=Gate.max_cv if cv is None else cv / 100)
    doc = compare_runs(base_run, new_run, gate=gate, rules=rules, metrics=list(metrics) or None)
    doc["forced"] = bool(differences)
    if fmt == "json":
        click.echo(json.dumps(doc, indent=2))
    elif fmt == "markdown":
        click.echo(compare_markdown(doc))
    else:
        click.echo(compare_table(doc))
    ctx.exit(EXIT_CODES[doc["verdict"]])
