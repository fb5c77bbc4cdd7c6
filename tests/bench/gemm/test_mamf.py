from __future__ import annotations

from exabench.bench.device import Device
from exabench.bench.gemm.mamf import _neighbours, mamf_search


def test_neighbours_step_each_axis_within_bounds() -> None:
    around = _neighbours((256, 256, 256), 64, 64, 512)
    assert (192, 256, 256) in around and (256, 320, 256) in around and (256, 256, 384) in around
    assert (256, 256, 256) not in around
    assert all(64 <= d <= 512 for shape in around for d in shape)


def test_cpu_search_keeps_every_candidate_and_reports_the_best() -> None:
    result = mamf_search(Device("cpu"), "fp32", (128, 128, 128), budget_s=1.5)
    assert result["status"] == "ok", result["error"]
    assert result["name"] == "mamf_fp32"
    candidates = result["candidates"]
    assert len(candidates) >= 2
    best = max(c["tflops"] for c in candidates if c["tflops"] is not None)
    chosen = next(
        c
        for c in candidates
        if (c["m"], c["n"], c["k"])
        == (result["params"]["m"], result["params"]["n"], result["params"]["k"])
    )
    assert chosen["tflops"] == best
    assert result["metrics"]["tflops"] > 0
