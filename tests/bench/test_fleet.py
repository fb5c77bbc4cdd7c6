"""Fleet screening end to end: three local CPU processes stand in for the GPUs of an allocation."""

from __future__ import annotations

import json

import pytest

from exabench.analysis.fleet import summarize_fleet
from exabench.bench.collectives import launch
from exabench.documents.run import load_run
from exabench.reports.terminal import fleet_summary


@pytest.mark.slow
def test_bench_all_under_a_launcher_screens_every_rank(tmp_path) -> None:
    outcome = launch.launch_local(
        ["bench", "all", "--quick", "--device", "cpu", "--out", str(tmp_path)], 3, timeout_s=120
    )
    assert outcome.exit_code == 0, outcome.message
    (fleet_dir,) = tmp_path.glob("fleet_*")
    summary = json.loads((fleet_dir / "fleet.json").read_text())
    assert (
        summary["schema"] == "exabench.fleet/1" and summary["gpus"] == 3 and summary["nodes"] == 1
    )
    assert summary["verdict"] in ("ok", "outliers") and summary["errors"] == []
    for rank in range(3):  # one Run per GPU, each with its own single-device suites
        run = load_run(summary["runs"][str(rank)])
        assert {r["suite"] for r in run["results"]} >= {"gemm"}
        assert f"rank{rank:05d}" in summary["runs"][str(rank)]
    names = [f["figure"] for f in summary["figures"]]
    assert any(n.startswith("gemm/") for n in names)
    assert any(
        n.startswith("collectives/sendrecv") and n.endswith(":rank_busbw_gbps") for n in names
    )
    assert all(f["n"] == 3 for f in summary["figures"])
    collectives = load_run(fleet_dir / "collectives.json")
    assert {r["name"] for r in collectives["results"]} == {"all_reduce", "sendrecv"}
    assert all(r["metrics"]["wrong"] == 0 for r in collectives["results"])


def test_render_summary_names_the_slow_gpu() -> None:
    gpus = [{"rank": r, "host": f"node{r // 4}", "local_rank": r % 4,
             "figures": {"gemm/gemm_bf16[m=8192]:tflops": 700.0 + r % 3}} for r in range(8)]
    gpus[6]["figures"]["gemm/gemm_bf16[m=8192]:tflops"] = 500.0
    gpus[6]["uuid"] = "GPU-6b1c1f8e-0000-4c3a-9b7d-000000000006"
    text = fleet_summary(summarize_fleet(gpus), "fleet.json")
    assert "8 GPUs (ranks) on 2 nodes" in text
    assert (
        "SLOW rank 6 (node1, local 2, GPU-6b1c1f8e-0000-4c3a-9b7d-000000000006)" in text
        and "-28.7 %" in text
    )
    assert "node node1: ranks [6] of 4 flagged" in text and text.endswith("written to fleet.json")
