"""The HTML report in a real browser: Debian's headless Chromium draws every chart, logs no
console message, runs no injected script, and leaves a screenshot to look at.

Runs in CI (``.ci/run`` installs ``chromium``); skips, saying why, where no Chromium exists.
Set ``EXABENCH_SCREENSHOT_DIR`` to keep the screenshot. No browser driver is needed: Chromium's
``--dump-dom`` prints the DOM after a virtual-time budget (enough for vega-embed's promises),
and ``--enable-logging=stderr`` prints every console message as an ``INFO:CONSOLE`` line.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from exabench.reports.build import render, write
from exabench.reports.inputs.documents import Document, FleetDocument, Inputs
from exabench.testing import samples
from exabench.testing.samples_fleet import sample_fleet

CHROMIUM = next(
    (p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None
)
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--virtual-time-budget=30000"]
EVIL = '<script>document.body.dataset.pwned="1"</script>'

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="Chromium is not installed (apt-get install chromium; .ci/run does)",
    ),
]


class ChartCensus(HTMLParser):
    """Per chart container: its data-rendered state and how many <svg>/<canvas> it holds."""

    def __init__(self) -> None:
        super().__init__()
        self.charts: dict[str, dict] = {}
        self.body: dict[str, str | None] = {}
        self._open: list[tuple[str, str | None]] = []  # (tag, chart id it opened)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "body":
            self.body = attrs
        chart = None
        if tag == "div" and "chart" in (attrs.get("class") or "").split():
            chart = attrs.get("data-figure")
            self.charts[chart] = {"rendered": attrs.get("data-rendered"), "drawn": 0}
        current = next((c for _, c in reversed(self._open) if c), None)
        if tag in ("svg", "canvas") and current:
            self.charts[current]["drawn"] += 1
        if tag not in (
            "br",
            "img",
            "input",
            "meta",
            "link",
            "hr",
            "path",
            "rect",
            "line",
            "circle",
            "stop",
        ):
            self._open.append((tag, chart))

    def handle_endtag(self, tag):
        for i in range(len(self._open) - 1, -1, -1):
            if self._open[i][0] == tag:
                del self._open[i:]
                break


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    profile = (
        tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    )  # a fresh profile each launch
    return subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", *args],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> tuple[Path, list[str]]:
    """Every chart family, a 100k-GPU plan, a 64-GPU fleet, and a model name that tries to inject a
    script."""
    out = tmp_path_factory.mktemp("report")
    plans = [samples.sample_plan(gpus=g) for g in (8, 1024, 100_000)]
    plans[0]["inputs"]["model"]["name"] = EVIL
    inputs = Inputs(runs=[Document("run", "run.json", samples.sample_run())],
                    plans=[Document("plan", f"plan{i}.json", p) for i, p in enumerate(plans)],
                    comparisons=[Document("comparison", "cmp.json", samples.sample_comparison())])
    fleet = sample_fleet()
    inputs.fleets.append(FleetDocument("fleet", "fleet.json", fleet["fleet"], gpus=fleet["gpus"]))
    rendered = render(inputs, images=False)
    write(rendered, out)
    import re

    ids = re.findall(r'<div class="chart" id="chart-([a-z0-9-]+)"', rendered.html)
    return out / "report.html", ids


def test_every_chart_draws_without_console_messages(report, tmp_path):
    page, ids = report
    assert len(ids) == 12 and "fleet-relative" in ids
    result = chromium(tmp_path, "--dump-dom", page.as_uri())
    assert result.returncode == 0, result.stderr[-2000:]
    census = ChartCensus()
    census.feed(result.stdout)
    assert (
        census.body.get("data-charts-settled") == "true"
    ), "vega-embed did not finish within the time budget"
    assert sorted(census.charts) == sorted(ids)
    failed = {c: s for c, s in census.charts.items() if s["rendered"] != "ok" or s["drawn"] != 1}
    assert not failed, f"charts that did not draw exactly one SVG/canvas: {failed}"
    console = [line for line in result.stderr.splitlines() if ":CONSOLE" in line]
    assert not console, "console messages:\n" + "\n".join(console)
    assert "data-pwned" not in result.stdout
    assert "&lt;script&gt;document.body.dataset.pwned" in result.stdout  # the name, shown as text


def test_screenshot(report, tmp_path):
    page, _ = report
    shot = tmp_path / "report.png"
    result = chromium(tmp_path, f"--screenshot={shot}", "--window-size=1300,3000", page.as_uri())
    assert result.returncode == 0 and shot.stat().st_size > 50_000, result.stderr[-2000:]
    keep = os.environ.get("EXABENCH_SCREENSHOT_DIR")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(keep) / "report.png")
