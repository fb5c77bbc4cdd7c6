"""``exabench report INPUT... [--out DIR]``: HTML + Markdown + PNG/SVG charts from Runs and
Plans."""

from __future__ import annotations

import click


@click.command("report")
@click.argument("inputs", nargs=-1, required=True, type=click.Path())
@click.option(
    "--out",
    "out_dir",
    default="report",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Folder for report.html, report.md and charts/ (PNG and SVG of every chart).",
)
@click.option(
    "--no-images", is_flag=True, help="Skip the PNG/SVG export (the HTML and Markdown only)."
)
def command(inputs: tuple[str, ...], out_dir: str, no_images: bool) -> None:
    """Render Runs, Plans and comparisons (files, or folders of them) into one offline report.

    INPUT is any mix of Run documents (exabench.run/1), Plan documents (exabench.plan/1,
    e.g. `exabench plan --format json > plan.json`), `exabench search --format json` and
    `exabench compare --format json` outputs, fleet summaries (exabench.fleet/1, the fleet.json
    of `exabench bench all` under torchrun/srun: a Fleet screening section and each GPU against
    the fleet median, read from the rank Runs beside it), and folders holding them. Every input
    is checked before anything is written; a bad one stops the report with its name.

    \b
    Examples:
      exabench report results/ --out report/
      exabench report results/20250101T000000Z_node17_ab12cd34.json plan-1k.json plan-100k.json
      exabench compare base.json new.json --format json > cmp.json
      exabench report cmp.json new.json
      exabench report fleet/fleet_20250101T000000Z/fleet.json --out fleet-report/
    """
    from exabench.reports.build import build_report  # altair: loaded only to render

    paths = build_report(list(inputs), out_dir, images=not no_images)
    charts = sum(1 for p in paths if p.suffix == ".png")
    click.echo(
        f"report written to {paths[0]} (Markdown: {paths[1]}; {charts} charts as PNG and SVG in "
        f"{paths[0].parent / 'charts'})"
        if charts
        else f"report written to {paths[0]} (Markdown: {paths[1]})"
    )
