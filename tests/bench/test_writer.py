"""Writing a Run: durable after every result, killed or not, in linear time."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from exabench.bench.writer import RunWriter, run_filename
from exabench.documents.run import journal_path, load_run, make_result

ENV = {"host": {"hostname": "node-a"}, "fingerprint": "0123456789abcdef"}


def _result(i: int) -> dict:
    return make_result(suite="gemm", name=f"case{i}", params={"m": i}, samples=[1e-3, 2e-3, 3e-3],
                       metrics={"tflops": 1.5})


def test_nan_metrics_become_null(tmp_path: Path) -> None:
    writer = RunWriter(tmp_path, ENV, {})
    writer.add(make_result(suite="s", name="n", params={}, metrics={"x": float("nan")}))
    assert json.loads(writer.path.read_text())["results"][0]["metrics"]["x"] is None


def test_resume_keeps_results(tmp_path: Path) -> None:
    writer = RunWriter(tmp_path, ENV, {})
    writer.add(_result(1))
    again = RunWriter.resume(writer.path)
    again.add(_result(2))
    assert [r["name"] for r in load_run(writer.path)["results"]] == ["case1", "case2"]


def test_filename_is_safe() -> None:
    import datetime as dt

    name = run_filename(dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc), "a b/c", None)
    assert name == "20260102T030405Z_a-b-c_nofp.json"


WRITER_SCRIPT = textwrap.dedent("""
    import sys
    from exabench.documents.run import make_result
    from exabench.bench.writer import RunWriter
    writer = RunWriter(sys.argv[1], {"host": {"hostname": "h"}, "fingerprint": "f"}, {})
    print(writer.path, flush=True)
    i = 0
    while True:
        writer.add(make_result(suite="s", name=f"r{i}", params={"i": i}, samples=[float(i)] * 200))
        print(i, flush=True)
        i += 1
""")


def test_sigkill_part_way_leaves_a_valid_run(tmp_path: Path) -> None:
    """Kill a writing process at random moments: the file always parses and holds every result
    whose add() had returned (printed) before the kill."""
    rng = random.Random(7)
    for attempt in range(5):
        out = tmp_path / f"k{attempt}"
        proc = subprocess.Popen([sys.executable, "-c", WRITER_SCRIPT, str(out)],
                                stdout=subprocess.PIPE, text=True)
        path = Path(proc.stdout.readline().strip())
        time.sleep(rng.uniform(0.05, 0.4))
        os.kill(proc.pid, signal.SIGKILL)
        printed = [line for line in proc.stdout.read().splitlines() if line.strip().isdigit()]
        proc.wait()
        doc = load_run(path)
        names = [r["name"] for r in doc["results"]]
        assert names == [f"r{i}" for i in range(len(names))]
        assert len(names) >= len(printed)


def test_deferred_rewrites_are_recovered_from_the_journal(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """A large sweep rewrites the Run only now and then; a kill in between loses nothing,
    because load_run merges the journal (and ignores a line torn by the kill)."""
    from exabench.bench import writer as writer_module

    monkeypatch.setattr(writer_module, "ALWAYS_REWRITE_BYTES", 0)
    writer = RunWriter(tmp_path, ENV, {})
    writer.add(_result(0))
    writer._rewrite_s = 3600.0  # pretend rewrites are slow: defer them all from now on
    for i in range(1, 6):
        writer.add(_result(i))
    on_disk = json.loads(writer.path.read_text())
    assert len(on_disk["results"]) < 6  # the file alone lags behind...
    with open(journal_path(writer.path), "a") as handle:
        handle.write('{"index": 6, "result": {"suite": "gemm", "na')  # a line torn by SIGKILL
    assert [r["name"] for r in load_run(writer.path)["results"]] == [f"case{i}" for i in range(6)]
    writer.close()  # ...until close writes everything and drops the journal
    assert len(json.loads(writer.path.read_text())["results"]) == 6
    assert not journal_path(writer.path).exists()


def test_many_tiny_results_are_linear_not_quadratic(tmp_path: Path) -> None:
    writer = RunWriter(tmp_path, ENV, {})
    for i in range(3000):
        writer.add(make_result(suite="gemm", name="g", params={"i": i}, samples=[1e-5] * 20))
    writer.close()
    assert len(load_run(writer.path)["results"]) == 3000
