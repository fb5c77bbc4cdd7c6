from __future__ import annotations

from exabench.documents.run import make_result
from exabench.reports.terminal import measured_lines, summary


def _run() -> dict:
    return {
        "id": "r",
        "results": [
            make_result(
                suite="gemm",
                name="g",
                params={"dtype": "bf16"},
                samples=[1.0],
                metrics={"tflops": 700.0, "pct_of_peak": 70.7},
            ),
            make_result(
                suite="gemm",
                name="g",
                params={"dtype": "bf16"},
                samples=[1.0],
                metrics={"tflops": 790.0, "pct_of_peak": 79.8},
            ),
            make_result(
                suite="gemm", name="g", params={"dtype": "fp8"}, status="skipped", error="no"
            ),
            make_result(
                suite="memory",
                name="m",
                params={"kernel": "copy"},
                samples=[1.0],
                metrics={"gbps": 3000.0},
            ),
        ],
    }


def test_best_per_precision_with_percent_of_peak() -> None:
    lines = measured_lines(_run())
    assert "bf16 790 TFLOP/s (80 % of peak)" in lines[0]
    assert "copy 3,000 GB/s" in lines[1]
    assert "3 ok, 0 failed, 1 skipped" in lines[-1]


def test_summary_without_a_plan_lists_the_files() -> None:
    text = summary(_run(), None, {"run": "/x/run.json"})
    assert "Planned" not in text and "/x/run.json" in text


def test_memory_headline_is_the_largest_array_and_links_per_direction() -> None:
    """A cache-resident array beats HBM by 2x: the headline is the largest array's figure, so
    it never claims > 100 % of the HBM peak; host links are per direction ("both" sums two)."""
    gib, mib = 1 << 30, 4 << 20
    run = {
        "id": "r",
        "results": [
            make_result(
                suite="memory",
                name="copy",
                params={"kernel": "copy", "bytes": mib},
                samples=[1.0],
                metrics={"gbps": 7000.0, "pct_of_peak": 209.0},
            ),
            make_result(
                suite="memory",
                name="copy",
                params={"kernel": "copy", "bytes": gib},
                samples=[1.0],
                metrics={"gbps": 3000.0, "pct_of_peak": 89.6},
            ),
            make_result(
                suite="memory",
                name="h2d_pinned",
                params={"kernel": "host_copy", "bytes": gib, "direction": "h2d"},
                samples=[1.0],
                metrics={"gbps": 55.0},
            ),
            make_result(
                suite="memory",
                name="both_pinned",
                params={"kernel": "host_copy", "bytes": gib, "direction": "both"},
                samples=[1.0],
                metrics={"gbps": 100.0},
            ),
        ],
    }
    [line, _] = measured_lines(run)
    assert line.startswith("  memory (largest) ")
    assert "copy 3,000 GB/s (90 % of peak)" in line and "7,000" not in line
    assert "host h2d 55.0 GB/s" in line and "host both 100 GB/s" in line
