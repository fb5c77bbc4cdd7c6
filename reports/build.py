"""Build a report: read and check every input, render everything in memory, then write.

Order matters for "nothing written half-way": all inputs are validated and every file is
rendered before the first byte reaches the output folder, and each file is written
atomically (temporary file, fsync, rename), so a bad input or a crash leaves the folder's
previous report whole. ``report.html`` is written last: its presence means the charts it
links to are there.
"""

from __future__ import annotations

import datetime as _dt
import os
from dataclasses import dataclass
from pathlib import Path

from exabench.documents import atomic_write_bytes
from exabench.errors import UserError
from exabench.reports import export, html, markdown
from exabench.reports.charts.registry import build_figures
from exabench.reports.inputs.documents import Inputs, load_inputs
from exabench.reports.tables.fleet import fleet_section
from exabench.reports.tables.sections import appendix_tables, headline_tables

HTML_NAME, MARKDOWN_NAME, CHARTS_DIR = "report.html", "report.md", "charts"


@dataclass(kw_only=True, frozen=True)
class Report:
    html: str
    markdown: str
    charts: dict[str, bytes | str]
    """File name under ``charts/`` → content (SVG text, PNG bytes)."""
    inputs: Inputs


def render(inputs: Inputs, *, images: bool = True, created: str | None = None) -> Report:
    """Every file of the report, in memory."""
    created = created or _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds").replace(
        "+00:00", "Z"
    )
    figures = build_figures(inputs)
    headline, appendix = headline_tables(inputs), appendix_tables(inputs)
    charts: dict[str, bytes | str] = {}
    if images:
        for fig in figures:
            svg, png = export.svg_and_png(fig.spec)
            charts[f"{fig.id}.svg"], charts[f"{fig.id}.png"] = svg, png
    fleet = fleet_section(inputs)
    page = html.render(
        inputs,
        figures,
        headline,
        appendix,
        created=created,
        bundle=export.javascript_bundle(),
        fleet=fleet,
    )
    summary = markdown.render(inputs, figures, headline, appendix, created=created, fleet=fleet)
    return Report(html=page, markdown=summary, charts=charts, inputs=inputs)


def write(report: Report, out_dir: str | os.PathLike[str]) -> list[Path]:
    """Write a rendered report into ``out_dir``; returns the paths written, the HTML first."""
    out = Path(out_dir)
    charts_dir = out / CHARTS_DIR
    try:
        (charts_dir if report.charts else out).mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UserError(f"cannot create output folder {out}: {error.strerror or error}") from None
    written = []
    for name, content in sorted(report.charts.items()):
        path = charts_dir / name
        atomic_write_bytes(path, content if isinstance(content, bytes) else content.encode("utf-8"))
        written.append(path)
    atomic_write_bytes(out / MARKDOWN_NAME, report.markdown.encode("utf-8"))
    atomic_write_bytes(out / HTML_NAME, report.html.encode("utf-8"))
    return [out / HTML_NAME, out / MARKDOWN_NAME, *written]


def build_report(paths: list[str | os.PathLike[str]], out_dir: str | os.PathLike[str], *,
                 images: bool = True) -> list[Path]:
    """``exabench report``: inputs (files or folders of Runs, Plans, comparisons, fleet
    summaries) to a folder."""
    inputs = load_inputs(paths)
    return write(render(inputs, images=images), out_dir)
