"""``exabench run``: the main job (bench all on this machine; plan and report as they land)."""

from __future__ import annotations

import click


@click.command("run")
@click.option("--quick", is_flag=True, help="A small representative subset of every benchmark.")
@click.option("--out", "out_dir", default="results", show_default=True, type=click.Path(file_okay=False),
              help="Folder for the Run document and the report.")
@click.option("--device", default=None, help="cuda, cuda:N or cpu (default: a GPU when there is one).")
def command(quick: bool, out_dir: str, device: str | None) -> None:
    """The main job: benchmark this machine and write the results.

    \b
    Examples:
      exabench run --quick
      exabench run --out results/node17
    """
    from pathlib import Path

    from exabench.commands.bench import run_suites
    from exabench.reports.build import build_report

    run_path = run_suites(["all"], quick=quick, device=device, out_dir=out_dir, as_json=False, options={})
    report = build_report([run_path], Path(out_dir) / "report")
    click.echo(f"# Report written to {report[0]}")
