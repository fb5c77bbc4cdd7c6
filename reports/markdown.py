"""The Markdown summary of a report: the same tables as the HTML, each chart as its PNG.

Cells are escaped for Markdown tables (``|``) and for the HTML that Markdown passes through
(``<``, ``>``, ``&``), so a name from a Run or a Plan stays text here too.
"""

from __future__ import annotations

from collections.abc import Sequence

from exabench import __version__
from exabench.reports.charts.style import Figure
from exabench.reports.html import empty_summary, summary_line
from exabench.reports.inputs.documents import Inputs
from exabench.reports.tables.fleet import FleetSection
from exabench.reports.tables.sections import Table


def md(text: object) -> str:
    out = " ".join(str(text).split())
    for char, escape in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ("|", "\\|"), ("`", "\\`"),
                         ("[", "\\["), ("]", "\\]"), ("*", "\\*"), ("_", "\\_")):
        out = out.replace(char, escape)
    return out


def render_table(table: Table) -> str:
    numeric = table.numeric or [False] * len(table.columns)
    lines = [f"### {md(table.title)}", "",
             "| " + " | ".join(md(c) for c in table.columns) + " |",
             "|" + "|".join("---:" if n else "---" for n in numeric) + "|"]
    lines += ["| " + " | ".join(md(c) for c in row) + " |" for row in table.rows]
    if table.note:
        lines += ["", f"_{md(table.note)}_"]
    return "\n".join(lines) + "\n"


def render(
    inputs: Inputs,
    figures: Sequence[Figure],
    headline: Sequence[Table],
    appendix: Sequence[Table],
    *,
    created: str,
    fleet: FleetSection | None = None,
) -> str:
    parts = [
        "# exabench report",
        "",
        (
            f"{md(summary_line(inputs))} · written {md(created)} by exabench {__version__}. "
            "The HTML report beside this file has the interactive charts."
        ),
        "",
        "## Summary",
        "",
    ]
    parts += [render_table(t) for t in headline] or [md(empty_summary(fleet)) + "\n"]
    if fleet is not None:
        parts += ["## Fleet screening", ""] + [
            line for p in fleet.paragraphs for line in (md(p), "")
        ]
        parts += [render_table(t) for t in fleet.tables]
    parts += ["## Charts", ""]
    for i, fig in enumerate(figures, 1):
        parts += [
            f"### Figure {i}. {md(fig.title)}",
            "",
            f"![{md(fig.title)}](charts/{fig.id}.png)",
            "",
            md(fig.caption),
            "",
        ]
    if not figures:
        parts += ["No chart: the inputs hold no data to draw.", ""]
    parts += ["## Assumptions and environment", ""]
    parts += [render_table(t) for t in appendix]
    parts += ["### Inputs", ""] + [
        f"- {d.kind}: {md(d.source)}"
        for d in [*inputs.comparisons, *inputs.plans, *inputs.fleets, *inputs.runs]
    ]
    return "\n".join(parts) + "\n"
