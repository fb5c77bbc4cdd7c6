"""Measured-Run charts: peaks as rules, roofline ceilings from the datasheet or from
measurements."""

from __future__ import annotations

import json

from exabench.reports.charts import bench as charts_bench
from exabench.reports.inputs.documents import Document
from exabench.reports.tidy import runs as tr
from exabench.testing import samples


def _frames(doc):
    runs = [Document("run", "r", doc)]
    return tr.gemm_frame(runs), tr.memory_frame(runs)


def test_gemm_draws_datasheet_peaks_as_rules():
    gemm, _ = _frames(samples.sample_run(suites=("gemm",)))
    spec = json.dumps(charts_bench.gemm(gemm).spec)
    assert (
        '"rule"' in spec
        and "1978.9" in spec
        and "datasheet dense peaks" in charts_bench.gemm(gemm).caption
    )


def test_roofline_ceilings_from_the_matching_profile():
    gemm, memory = _frames(samples.sample_run())
    fig = charts_bench.roofline(gemm, memory)
    assert "h100-sxm datasheet" in fig.caption and "3,350" in fig.caption
    roofs = [
        row
        for data in fig.spec["datasets"].values()
        for row in data
        if "intensity" in row and "size" not in row
    ]
    bf16 = max(r["tflops"] for r in roofs if r["dtype"] == "bf16")
    assert bf16 == 989.4


def test_cpu_run_roofline_uses_its_own_best_and_says_so():
    doc = samples.sample_run(suites=("gemm",))
    doc["environment"]["gpu"] = {"count": 0, "devices": []}
    gemm, memory = _frames(doc)
    fig = charts_bench.roofline(gemm, memory)
    assert "no datasheet profile" in fig.caption and "no memory Run" in fig.caption


def test_memory_and_collectives_mark_cache_and_wrong_results():
    doc = samples.sample_run()
    doc["results"][-1]["metrics"]["wrong"] = 3
    runs = [Document("run", "r", doc)]
    assert "50 MB L2" in charts_bench.memory(tr.memory_frame(runs)).caption
    assert (
        "1 sizes with wrong results" in charts_bench.collectives(tr.collectives_frame(runs)).caption
    )
