"""The HTML page: offline (no CDN), every name escaped, script JSON unbreakable."""

from __future__ import annotations

import json
import re

from exabench.reports import html
from exabench.reports.build import render
from exabench.reports.inputs.documents import Document, Inputs
from exabench.testing import samples

EVIL = '</script><script>document.body.dataset.pwned="1"</script><img src=x onerror=alert(1)>'


def evil_inputs() -> Inputs:
    plan = samples.sample_plan(gpus=8)
    plan["inputs"]["model"]["name"] = EVIL
    plan["inputs"]["assumptions"]["pue"]["source"] = "<b>bold</b> & co"
    run = samples.sample_run(suites=("gemm",), timeline_points=0)
    run["id"] = EVIL
    return Inputs(runs=[Document("run", "r.json", run)], plans=[Document("plan", "p.json", plan)])


def test_script_json_cannot_close_the_element():
    text = html.script_json({"name": EVIL, "sep": "\u2028"})
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    assert json.loads(text) == {"name": EVIL, "sep": "\u2028"}
    assert html.safe_script('x = "</script>"') == 'x = "<\\/script>"'


def test_names_are_text_and_only_our_scripts_run():
    page = render(evil_inputs(), images=False, created="2025-01-01T00:00:00Z").html
    # Exactly three script elements: the bundle, the specs, the embed code.
    assert len(re.findall(r"<script\b", page)) == 3
    assert "&lt;/script&gt;&lt;script&gt;document.body.dataset.pwned" in page
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; co" in page and "<b>bold" not in page
    outside_scripts = re.sub(r"<script\b.*?</script>", "", page, flags=re.S)
    assert "<img" not in outside_scripts


def test_offline_bundle_and_no_remote_urls():
    page = render(evil_inputs(), images=False, created="2025-01-01T00:00:00Z").html
    assert "window.vegaEmbed" in page
    assert not re.search(r"""<(script|link)[^>]+(src|href)=["']?https?:""", page)
    assert "cdn.jsdelivr" not in page
    specs = re.search(
        r'<script type="application/json" id="exabench-specs">(.*?)</script>', page, re.S
    ).group(1)
    ids = [figure["id"] for figure in json.loads(specs)]
    assert ids == ["step-breakdown", "uncertainty", "sensitivity", "gemm-throughput", "roofline"]
    assert all(f'id="chart-{i}"' in page for i in ids)
