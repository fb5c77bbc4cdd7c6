"""How a benchmark command ends: the Run shown (its JSON, or a headline and the footer under the
table the runner printed), then the exit code of its
:class:`~exabench.bench.runner.BenchOutcome`."""

from __future__ import annotations

import json

import click

from exabench.bench.runner import BenchOutcome
from exabench.bench.table import footer
from exabench.documents.run import load_run
from exabench.reports.terminal import measured_lines


def show(outcome: BenchOutcome, *, as_json: bool, headline: bool = True) -> None:
    """The Run as JSON (read back: the outcome holds summaries only), or, under a multi-suite
    Run's tables, its best figure per precision, kernel, link direction and collective (as
    ``exabench run`` prints them, memory kernels at their largest array), then the footer."""
    if as_json:
        click.echo(json.dumps(load_run(outcome.path), indent=1))
        return
    if headline and len(outcome.suites) > 1:
        click.echo("# headline (best median per precision, kernel and collective):")
        for line in measured_lines({"results": outcome.results}):
            if not line.lstrip().startswith("results"):  # the footer below counts them
                click.echo("#" + line[1:])
    click.echo(footer(outcome.results, str(outcome.path)))


def end(code: int, message: str | None) -> None:
    """Say why on one line of stderr, and end the command with ``code`` (returns when 0)."""
    if message:
        click.echo(f"error: {message}", err=True)
    if code:
        click.get_current_context().exit(code)


def finish(outcome: BenchOutcome, *, as_json: bool) -> None:
    show(outcome, as_json=as_json)
    end(outcome.exit_code, outcome.message)
