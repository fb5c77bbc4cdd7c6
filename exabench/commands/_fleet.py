"""``exabench bench all`` under torchrun or srun: fleet screening, one rank per GPU.

bench runs the ranks and gathers them (:mod:`exabench.bench.fleet`), analysis finds each rank's
figures and the outliers among them (:mod:`exabench.analysis.fleet`), reports renders the
summary; this module wires the three. Rank 0 writes ``fleet_<UTC>/fleet.json`` and prints the
summary. Exit 1 when a rank failed; outliers are a finding, reported in the summary, not an error.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, NoReturn

import click

from exabench.analysis.fleet import figures_from_run, link_figures, summarize_fleet
from exabench.bench import fleet
from exabench.bench.collectives.launch import World
from exabench.bench.sweeps import RunOptions
from exabench.commands._outcome import show
from exabench.documents import FLEET_SCHEMA, atomic_write_text
from exabench.documents.run import load_run
from exabench.reports.terminal import fleet_summary


def screen_fleet(world: World, options: RunOptions) -> NoReturn:
    """This process's part of the screening; ends the process (:meth:`FleetRank.close`)."""
    rank = fleet.join_fleet(world, options)
    local = fleet.run_local(rank, options)
    if rank.rank == 0 and not options.quiet and local.outcome is not None:
        show(local.outcome, as_json=False)
    code, message, links_path = fleet.run_links(rank, options)
    figures = figures_from_run({"results": local.results})
    records = fleet.gather_records(rank, fleet.rank_record(rank, local, figures))
    if records is not None:
        code, message = _summarize(rank.fleet_dir, records, links_path, code, message,
                                   as_json=options.quiet)
    rank.close(code, message)


def _summarize(fleet_dir: Path, records: list[dict[str, Any]], links_path: str | None, code: int,
               message: str | None, *, as_json: bool) -> tuple[int, str | None]:
    """Rank 0: every rank's figures (its own suites', and its share of the links) screened,
    written to ``fleet.json`` and printed. A failed rank ends the screening 1."""
    links = link_figures(load_run(links_path)) if links_path else {}
    for record in records:
        record["figures"].update(links.get(record["rank"], {}))
    summary = {"schema": FLEET_SCHEMA, "fleet": str(fleet_dir), "collectives_run": links_path,
               "runs": {r["rank"]: r["run"] for r in records},
               "ranks": [{k: v for k, v in r.items() if k != "figures"} for r in records],
               **summarize_fleet(records)}
    path = fleet_dir / "fleet.json"
    atomic_write_text(path, json.dumps(summary, indent=1, default=str) + "\n")
    if as_json:
        click.echo(json.dumps(summary, indent=1, default=str))
    else:
        click.echo(fleet_summary(summary, str(path)))
    errors = summary["errors"]
    if errors and not code:
        first = errors[0]
        code, message = 1, (f"{len(errors)} ranks failed (first: rank {first['rank']}: "
                            f"{first['error']})")
    return code, message
