"""``exabench validate``: the planner against the published training runs shipped with exabench."""

from __future__ import annotations

import json

import click

from exabench.analysis.planner.step import Context
from exabench.analysis.validate import validate
from exabench.workloads.clusters import load_cluster
from exabench.workloads.models import load_model
from exabench.workloads.profile import load_reference
from exabench.workloads.published import load_published


@click.command("validate")
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True
)
def command(fmt: str) -> None:
    """Predict every published run in workloads/published/ and compare (error = (pred - pub) / pub).

    Runs: Megatron-LM SC'21 Table 1, Korthikanti et al. 2022 Table 5, Llama 3 405B Table 4. Each
    gets the layout its source states; what the source leaves out is chosen by the search.

    \b
    Examples:
      exabench validate
      exabench validate --format json
    """
    pairs = [
        (
            run,
            Context(load_model(run.model), load_reference(run.hardware), load_cluster(run.cluster)),
        )
        for run in load_published()
    ]
    report = validate(pairs)
    if fmt == "json":
        click.echo(json.dumps(report, indent=2))
        return
    click.echo(f"{'id':<32} {'metric':<22} {'published':>10} {'predicted':>10} {'error':>8}")
    for row in report["rows"]:
        click.echo(
            f"{row['id']:<32} {row['metric']:<22} {row['published']:>10.4g}"
            f" {row['predicted']:>10.4g} {row['error']:>+8.1%}"
        )
    click.echo(
        f"median |error| {report['median_abs_error']:.1%}, max |error|"
        f" {report['max_abs_error']:.1%} over {len(report['rows'])} published runs"
    )
