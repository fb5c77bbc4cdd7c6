"""The pytest-benchmark fixture, run as a user would: a separate pytest in a temporary folder."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("pytest_benchmark")
pytest.importorskip("torch")

TEST_FILE = '''
from exabench.bench.gemm.cases import GemmCase

def test_small_gemm(gpu_benchmark):
    result = gpu_benchmark(GemmCase(64, 64, 64, "fp32"), device="cpu", warmup_ms=1, rep_ms=5)
    assert result["status"] == "ok"

def test_skipped_case_skips(gpu_benchmark):
    gpu_benchmark(GemmCase(64, 64, 64, "fp8"), device="cpu")
'''


def _pytest(folder: Path, *args: str) -> subprocess.CompletedProcess:
    (folder / "pytest.ini").write_text("[pytest]\n")  # not the exabench project's configuration
    (folder / "test_gpu_bench.py").write_text(TEST_FILE)
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "-p", "exabench.bench.pytest_plugin", *args],
                          cwd=folder, capture_output=True, text=True, timeout=180, check=False)


def test_harness_samples_become_pytest_benchmark_rounds(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    proc = _pytest(tmp_path, f"--benchmark-json={out}")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 passed, 1 skipped" in proc.stdout
    doc = json.loads(out.read_text())
    assert set(doc) >= {"machine_info", "commit_info", "benchmarks", "datetime", "version"}
    assert doc["machine_info"]["exabench"]["fingerprint"]
    (bench,) = doc["benchmarks"]
    extra = bench["extra_info"]["exabench"]
    assert bench["options"]["timer"] == "perf_counter_ns+synchronize"
    assert bench["stats"]["rounds"] == len(bench["stats"]["data"]) == extra["stats"]["n"] >= 5
    assert bench["stats"]["median"] == pytest.approx(extra["stats"]["median"])
    assert extra["metrics"]["tflops"] > 0 and extra["check"]["ok"]


def test_benchmark_disable_still_checks_correctness(tmp_path: Path) -> None:
    proc = _pytest(tmp_path, "--benchmark-disable")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 passed, 1 skipped" in proc.stdout


def test_plugin_module_is_import_light() -> None:
    code = (
        "import sys, exabench.bench.pytest_plugin; heavy = [m for m in ('torch', 'pynvml', 'cupy',"
        " 'pytest_benchmark', 'numpy') if m in sys.modules]; print(heavy)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert proc.stdout.strip() == "[]"
