"""Static export: SVG and PNG of a chart without a browser; the cached offline bundle."""

from __future__ import annotations

from exabench.reports import export
from exabench.reports.charts.registry import build_figures
from exabench.reports.inputs.documents import Document, Inputs
from exabench.testing import samples


def test_svg_and_png_of_a_chart():
    fig = build_figures(
        Inputs(plans=[Document("plan", "p", samples.sample_plan(gpus=8, uncertainty=False))])
    )[0]
    svg, png = export.svg_and_png(fig.spec)
    assert svg.lstrip().startswith("<svg") and "Step-time breakdown" in svg
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert export.svg_and_png(fig.spec, png=False)[1] is None


def test_bundle_is_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    first = export.javascript_bundle()
    cached = list((tmp_path / "exabench").glob("vega-bundle-*.js"))
    assert len(cached) == 1 and "vegaEmbed" in first and export.javascript_bundle() == first
