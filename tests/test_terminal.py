from __future__ import annotations

from exabench.bench.rundoc import make_result
from exabench.reports.terminal import measured_lines, summary


def _run() -> dict:
    return {"id": "r", "results": [
        make_result(suite="gemm", name="g", params={"dtype": "bf16"}, samples=[1.0], metrics={"tflops": 700.0, "pct_of_peak": 70.7}),
        make_result(suite="gemm", name="g", params={"dtype": "bf16"}, samples=[1.0], metrics={"tflops": 790.0, "pct_of_peak": 79.8}),
        make_result(suite="gemm", name="g", params={"dtype": "fp8"}, status="skipped", error="no"),
        make_result(suite="memory", name="m", params={"kernel": "copy"}, samples=[1.0], metrics={"gbps": 3000.0}),
    ]}


def test_best_per_precision_with_percent_of_peak() -> None:
    lines = measured_lines(_run())
    assert "bf16 790 TFLOP/s (80 % of peak)" in lines[0]
    assert "copy 3,000 GB/s" in lines[1]
    assert "3 ok, 0 failed, 1 skipped" in lines[-1]


def test_summary_without_a_plan_lists_the_files() -> None:
    text = summary(_run(), None, {"run": "/x/run.json"})
    assert "Planned" not in text and "/x/run.json" in text
