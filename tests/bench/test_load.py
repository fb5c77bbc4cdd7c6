"""Load, small: a sweep of 500 small GEMM shapes on the CPU keeps its memory flat (the full
10,000-shape figure is printed by ``python benchmarks/load.py gemm``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from exabench.bench import writer
from exabench.cli import main
from exabench.documents.run import load_run


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the RSS from Linux /proc")
def test_500_shape_sweep_has_flat_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    marks: dict[str, float] = {}
    add = writer.RunWriter.add

    def watched(self, result):
        add(self, result)
        count = len(self.doc["results"])
        if count == 100:
            marks["start"] = rss_mb()
        if count % 50 == 0:
            marks["peak"] = max(marks.get("peak", 0.0), rss_mb())

    monkeypatch.setattr(writer.RunWriter, "add", watched)
    sides = range(8, 48, 4)
    shapes = ",".join(f"{m}x{n}x{k}" for m in sides for n in sides for k in sides[:5])
    with pytest.raises(SystemExit) as end:
        main([
            "bench",
            "gemm",
            "--device",
            "cpu",
            "--dtype",
            "fp32",
            "--shapes",
            shapes,
            "--warmup-ms",
            "0",
            "--rep-ms",
            "1",
            "--telemetry-hz",
            "0",
            "--out",
            str(tmp_path),
        ])
    capsys.readouterr()
    assert end.value.code == 0
    [run] = tmp_path.glob("*.json")
    assert len(load_run(run)["results"]) == 500
    # The Run itself grows by a few kB a result; anything near 20 MB over 400 results is a leak.
    assert marks["peak"] - marks["start"] < 20, marks
