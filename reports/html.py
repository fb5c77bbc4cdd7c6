"""One self-contained HTML report that works offline.

Vega, Vega-Lite and vega-embed are inlined (one bundled script from vl-convert; no CDN). Each
chart's spec sits in one ``<script type="application/json">`` block, parsed and embedded by a
short script; a chart marks its container ``data-rendered="ok"`` (or ``"error"`` with the
message) so a headless browser can check that every chart drew.

Escaping: every name that comes from a Run, a Plan or a spec is text. Table cells, titles and
captions go through :func:`html.escape`; JSON inside a script block has ``<``, ``>``, ``&``
and the JavaScript line separators written as ``\\uXXXX`` escapes, so no value can close the
script element (``</script>``) or open a comment; Vega draws labels as SVG text.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence

from exabench import __version__
from exabench.reports.charts.style import Figure
from exabench.reports.inputs.documents import Inputs
from exabench.reports.tables.fleet import FleetSection
from exabench.reports.tables.sections import Table

# A backslash at a line's end continues the line: the page's CSS stays byte for byte as it was.
CSS = """
body{font-family:"DejaVu Sans",Helvetica,Arial,sans-serif;margin:0 auto;max-width:1280px;\
padding:0 24px 48px;color:#1b1b1b}
header{border-bottom:2px solid #333;margin-bottom:16px}h1{margin:20px 0 4px;font-size:26px}
h2{margin-top:32px;border-bottom:1px solid #ccc;padding-bottom:4px}\
p.meta{color:#555;margin:4px 0 12px}
nav a{margin-right:14px}table{border-collapse:collapse;margin:8px 0 4px;font-size:13px}
th,td{border:1px solid #d0d0d0;padding:4px 8px;vertical-align:top}\
th{background:#f2f2f2;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.scroll{overflow-x:auto}p.note{color:#555;font-size:12px;margin:2px 0 14px}
figure{margin:18px 0 30px}figcaption{max-width:900px;color:#333;font-size:14px;margin-top:6px}
.chart[data-rendered=error]{color:#b00;border:1px solid #b00;padding:8px}
.inputs{font-family:monospace;font-size:12px;color:#444}
"""

EMBED = """
(function () {
  var figures = JSON.parse(document.getElementById("exabench-specs").textContent);
  var pending = figures.length;
  function settle() {
    pending -= 1;
    if (pending === 0) { document.body.setAttribute("data-charts-settled", "true"); }
  }
  if (pending === 0) { document.body.setAttribute("data-charts-settled", "true"); }
  figures.forEach(function (figure) {
    var element = document.getElementById("chart-" + figure.id);
    vegaEmbed(element, figure.spec, {renderer: "svg", actions: false}).then(function () {
      element.setAttribute("data-rendered", "ok");
      settle();
    }).catch(function (error) {
      element.setAttribute("data-rendered", "error");
      element.textContent = "This chart failed to draw: " + error;
      console.error("exabench chart " + figure.id + ": " + error);
      settle();
    });
  });
})();
"""


def script_json(value: object) -> str:
    """JSON that is safe inside a ``<script>`` element: nothing in it can end the element."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for char, escape in (("&", "\\u0026"), ("<", "\\u003c"), (">", "\\u003e"),
                         ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, escape)
    return text


def safe_script(code: str) -> str:
    """A script body with any ``</script`` split so the HTML parser does not end the element
    there (inside JavaScript strings ``<\\/`` means ``</``)."""
    return code.replace("</script", "<\\/script").replace("</SCRIPT", "<\\/SCRIPT")


def e(text: object) -> str:
    return html.escape(str(text), quote=True)


def render_table(table: Table) -> str:
    head = "".join(f"<th>{e(c)}</th>" for c in table.columns)
    numeric = table.numeric or [False] * len(table.columns)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="num">{e(c)}</td>' if n else f"<td>{e(c)}</td>"
            for c, n in zip(row, numeric, strict=False)
        )
        + "</tr>"
        for row in table.rows
    )
    note = f'<p class="note">{e(table.note)}</p>' if table.note else ""
    return (f'<h3 id="table-{e(table.id)}">{e(table.title)}</h3><div class="scroll"><table>'
            f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>{note}")


def render_figure(fig: Figure, index: int) -> str:
    return (
        f'<figure id="fig-{e(fig.id)}"><div class="chart" id="chart-{e(fig.id)}"'
        f' data-figure="{e(fig.id)}" role="img"'
        f' aria-label="{e(fig.title)}"></div><figcaption><strong>Figure {index}.'
        f' {e(fig.title)}.</strong> {e(fig.caption)} <a href="charts/{e(fig.id)}.png">PNG</a> · <a'
        f' href="charts/{e(fig.id)}.svg">SVG</a></figcaption></figure>'
    )


def empty_summary(fleet: FleetSection | None) -> str:
    """What the Summary says when no Run or Plan result is given."""
    return (
        "No Run or Plan results; the fleet summary is under Fleet screening."
        if fleet
        else "No results."
    )


def summary_line(inputs: Inputs) -> str:
    parts = [f"{len(inputs.runs)} Run{'s' * (len(inputs.runs) != 1)}",
             f"{len(inputs.plans)} Plan{'s' * (len(inputs.plans) != 1)}"]
    if inputs.comparisons:
        parts.append(f"{len(inputs.comparisons)} comparison{'s' * (len(inputs.comparisons) != 1)}")
    if inputs.fleets:
        parts.append(
            f"{len(inputs.fleets)} fleet summar{'ies' if len(inputs.fleets) != 1 else 'y'}"
        )
    return ", ".join(parts)


def render_fleet(fleet: FleetSection | None) -> str:
    if fleet is None:
        return ""
    paragraphs = "".join(f"<p>{e(p)}</p>" for p in fleet.paragraphs)
    return (
        '<section id="fleet"><h2>Fleet'
        f' screening</h2>{paragraphs}{"".join(render_table(t) for t in fleet.tables)}</section>'
    )


def render(
    inputs: Inputs,
    figures: Sequence[Figure],
    headline: Sequence[Table],
    appendix: Sequence[Table],
    *,
    created: str,
    bundle: str,
    fleet: FleetSection | None = None,
) -> str:
    """The whole page as one string; ``bundle`` is the Vega/Vega-Lite/vega-embed script."""
    sections = (
        ("summary", "Summary"),
        *((("fleet", "Fleet screening"),) if fleet else ()),
        ("charts", "Charts"),
        ("appendix", "Assumptions and environment"),
    )
    nav = "".join(f'<a href="#{a}">{t}</a>' for a, t in sections)
    sources = "".join(f"<li>{e(d.kind)}: {e(d.source)}</li>"
                      for d in [*inputs.comparisons, *inputs.plans, *inputs.fleets, *inputs.runs])
    charts = (
        "".join(render_figure(f, i) for i, f in enumerate(figures, 1))
        or "<p>No chart: the inputs hold no data to draw.</p>"
    )
    specs = [{"id": f.id, "spec": f.spec} for f in figures]
    return "".join([
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        (
            "<title>exabench report:"
            f" {e(summary_line(inputs))}</title><style>{CSS}</style></head><body>"
        ),
        (
            f'<header><h1>exabench report</h1><p class="meta">{e(summary_line(inputs))} · written'
            f" {e(created)} by exabench {e(__version__)}</p><nav>{nav}</nav></header>"
        ),
        (
            "<noscript><p>The charts need JavaScript; their PNG and SVG files are in the charts/"
            " folder.</p></noscript>"
        ),
        '<section id="summary"><h2>Summary</h2>',
        "".join(render_table(t) for t in headline) or f"<p>{e(empty_summary(fleet))}</p>",
        "</section>",
        render_fleet(fleet),
        f'<section id="charts"><h2>Charts</h2>{charts}</section>',
        '<section id="appendix"><h2>Assumptions and environment</h2>',
        "".join(render_table(t) for t in appendix),
        f'<h3>Inputs</h3><ul class="inputs">{sources}</ul></section>',
        f"<script>{safe_script(bundle)}</script>",
        f'<script type="application/json" id="exabench-specs">{script_json(specs)}</script>',
        f"<script>{EMBED}</script></body></html>\n",
    ])
