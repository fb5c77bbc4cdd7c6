"""The Markdown summary: tables, chart images with captions, names escaped."""

from __future__ import annotations

from exabench.reports import markdown
from exabench.reports.build import render
from exabench.reports.tables.sections import Table

from .test_html import evil_inputs


def test_markdown_has_tables_images_and_escaped_names():
    text = render(evil_inputs(), images=False, created="2025-01-01T00:00:00Z").markdown
    assert text.startswith("# exabench report")
    assert "![GEMM throughput against size](charts/gemm-throughput.png)" in text
    assert "&lt;/script&gt;" in text and "<script" not in text and "<img" not in text
    assert "| assumption | value | kind | source | Plans |" in text


def test_table_cells_cannot_break_the_row():
    table = Table(
        id="t", title="T", columns=["a", "b"], rows=[["x | y", "1"]], numeric=[False, True]
    )
    out = markdown.render_table(table)
    assert "| x \\| y | 1 |" in out and "|---|---:|" in out
