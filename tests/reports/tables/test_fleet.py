"""The Fleet screening section: counts, the rule, the provenance, the tables, and both
renderings."""

from __future__ import annotations

import copy

import pytest

from exabench.reports import html, markdown
from exabench.reports.inputs.documents import FleetDocument, Inputs
from exabench.reports.tables import fleet as tables_fleet
from exabench.testing.samples_fleet import sample_fleet


@pytest.fixture(scope="module")
def fleet():
    sample = sample_fleet()
    return FleetDocument(
        "fleet", "f/fleet.json", sample["fleet"], gpus=sample["gpus"], run_files=["r"] * 65
    )


def test_paragraphs_state_counts_rule_and_provenance(fleet):
    section = tables_fleet.fleet_section(Inputs(fleets=[fleet]))
    text = " ".join(section.paragraphs)
    assert (
        "64 GPUs (one rank each) on 8 nodes, 3 figures screened; verdict outliers: 2 GPUs flagged"
        " slow on 2 nodes"
        in text
    )
    assert (
        "|z| > 3.5 and it is ≥ 3 % below the fleet median, for figures measured on ≥ 5 GPUs" in text
    )
    assert (
        "Measured: every figure is from fleet fleet_20250101T000000Z" in text
        and "64 of 64 rank Runs" in text
    )
    assert tables_fleet.fleet_section(Inputs()) is None


def test_tables(fleet):
    figures, flagged, nodes = tables_fleet.fleet_section(Inputs(fleets=[fleet])).tables
    assert figures.columns[:8] == [
        "figure",
        "n",
        "median",
        "min",
        "max",
        "unit",
        "spread",
        "outliers",
    ]
    gemm = next(r for r in figures.rows if r[0].startswith("gemm_bf16"))
    assert (
        gemm[1] == "64"
        and gemm[5] == "TFLOP/s"
        and gemm[7] == "2 slow"
        and gemm[8].startswith("measured · fleet_")
    )
    assert flagged.columns[:8] == [
        "rank",
        "node",
        "local GPU",
        "board UUID",
        "figure",
        "value",
        "below median",
        "z",
    ]
    assert [r[:3] for r in flagged.rows] == [
        ["13", "node-001", "5"],
        ["42", "node-005", "2"],
        ["42", "node-005", "2"],
    ]
    assert flagged.rows[0][3] == "GPU-0000000d-5e1f-4c3a-9b7d-000000019223"
    assert (
        flagged.rows[0][5].endswith("TFLOP/s")
        and flagged.rows[0][6] == "13.6 %"
        and flagged.rows[0][7] == "-11.2"
    )
    assert nodes.rows == [["node-001", "8", "13", "measured · fleet_20250101T000000Z"],
                          ["node-005", "8", "42", "measured · fleet_20250101T000000Z"]]


def test_small_fleets_failed_ranks_and_a_row_cap(fleet):
    doc = copy.deepcopy(fleet.doc)
    doc.update(gpus=3, errors=[{"rank": 2, "host": "node-000", "error": "CUDA error: ECC"}])
    fig = doc["figures"][1]
    fig["outliers"] = [dict(fig["outliers"][0], rank=r) for r in range(tables_fleet.MAX_ROWS + 5)]
    section = tables_fleet.fleet_section(Inputs(fleets=[FleetDocument("fleet", "f.json", doc)]))
    text = " ".join(section.paragraphs)
    assert "fewer than 5 GPUs" in text and "FAILED rank 2 (node-000): CUDA error: ECC" in text
    assert "no rank Run was found" in text
    flagged = section.tables[1]
    assert len(flagged.rows) == tables_fleet.MAX_ROWS and "Showing 200 of 206 rows" in flagged.note


def test_markdown_and_html_carry_the_section(fleet):
    inputs = Inputs(fleets=[fleet])
    section = tables_fleet.fleet_section(inputs)
    text = markdown.render(inputs, [], [], [], created="now", fleet=section)
    assert "## Fleet screening" in text
    assert text.index("## Fleet screening") < text.index("## Charts")
    assert (
        "### GPUs flagged slow" in text
        and "| 13 | node-001 | 5 |" in text
        and "\\|z\\| &gt; 3.5" in text
    )
    assert "- fleet: f/fleet.json" in text and "1 fleet summary" in text
    page = html.render(inputs, [], [], [], created="now", bundle="", fleet=section)
    assert '<section id="fleet"><h2>Fleet screening</h2>' in page and 'href="#fleet"' in page
    assert "<td>node-005</td>" in page
    assert 'href="#fleet"' not in html.render(inputs, [], [], [], created="now", bundle="")
