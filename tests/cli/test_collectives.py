"""`exabench bench collectives` end to end on the CPU: real gloo processes, faults included."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from exabench.cli import cli
from exabench.documents.run import load_run

TINY = ["--device", "cpu", "--min-bytes", "1Ki", "--max-bytes", "4Ki", "--step-factor", "4",
        "--iters", "3", "--warmup-iters", "1"]


def exabench(args: list[str], env: dict[str, str] | None = None, timeout: float = 120):
    return subprocess.run([sys.executable, "-m", "exabench", *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


def only_run(folder: Path) -> dict:
    runs = sorted(folder.glob("*.json"))
    assert len(runs) == 1, runs
    return load_run(runs[0])


def test_all_seven_collectives_on_three_ranks(tmp_path) -> None:
    proc = exabench(
        ["bench", "collectives", *TINY, "--nproc", "3", "--json", "--out", str(tmp_path)]
    )
    assert proc.returncode == 0, proc.stderr
    printed = json.loads(proc.stdout)
    run = only_run(tmp_path)
    assert printed["id"] == run["id"]
    results = run["results"]
    assert {r["name"] for r in results} == {
        "all_reduce",
        "all_gather",
        "reduce_scatter",
        "broadcast",
        "reduce",
        "all_to_all",
        "sendrecv",
    }
    # passes torch.distributed can express: 2 sizes x (1 + 2 + 2 + 1 + 1 + 1 + 1)
    assert len(results) == 18 and all(r["status"] == "ok" for r in results)
    for r in results:
        assert r["metrics"]["wrong"] == 0 and r["params"]["nranks"] == 3
        assert len(r["ranks"]["samples"]) == 3 and all(len(s) == 3 for s in r["ranks"]["samples"])
        assert r["samples"] == [max(c) for c in zip(*r["ranks"]["samples"], strict=True)]
        assert r["metrics"]["busbw_gbps"] == pytest.approx(
            r["metrics"]["algbw_gbps"] * r["metrics"]["busbw_factor"]
        )
    gather = next(r for r in results if r["name"] == "all_gather" and r["params"]["inplace"])
    assert gather["params"]["bytes"] == 1020 and gather["metrics"]["busbw_factor"] == pytest.approx(
        2 / 3
    )
    assert [i["rank"] for i in run["config"]["ranks"]] == [0, 1, 2]
    assert run["config"]["backend"] == "gloo" and "topology" in run["environment"]


def test_gloo_fallbacks_are_correct_and_say_so(tmp_path) -> None:
    proc = exabench([
        "bench",
        "collectives",
        *TINY,
        "--nproc",
        "2",
        "--collectives",
        "reduce_scatter,all_gather",
        "--op",
        "max",
        "--dtype",
        "int32",
        "--gloo-fallback",
        "--out",
        str(tmp_path),
    ])
    assert proc.returncode == 0, proc.stderr
    assert "reduce_scatter" in proc.stdout and "Avg bus bandwidth" in proc.stdout
    results = only_run(tmp_path)["results"]
    assert len(results) == 8 and all(r["metrics"]["wrong"] == 0 for r in results)
    assert all("gloo fallback" in r["implementation"]["fallback"] for r in results)


@pytest.mark.parametrize("mode", ["die", "hang"])
def test_a_rank_that_dies_or_hangs_ends_the_run_and_keeps_the_results(tmp_path, mode) -> None:
    start = time.monotonic()
    proc = exabench(
        ["bench", "collectives", *TINY, "--nproc", "3", "--timeout", "3", "--out", str(tmp_path)],
        env={"EXABENCH_INJECT_FAULT": f"1:4:{mode}"},
    )
    elapsed = time.monotonic() - start
    assert proc.returncode == 1
    assert elapsed < 60  # start-up (~5 s on 2 cores) + the 3 s timeout + a 3 s grace
    last = proc.stderr.strip().splitlines()[-1]
    # A hung rank 1 is noticed by whichever fires first: a healthy rank's process-group timeout
    # (rank 0 or 2 exits) or the launcher's watchdog, which names rank 1 as the first to stall.
    expected = (
        r"error: rank 1 exited with code 9"
        if mode == "die"
        else (
            r"error: (rank [02] exited with code 1|no rank made progress for \d+ s \(rank 1 stopped"
            r" first)"
        )
    )
    assert re.match(expected, last), last
    assert "results measured before are kept in" in last
    results = only_run(tmp_path)["results"]
    assert [r["status"] for r in results] == ["ok"] * 4 + ["failed"]
    assert results[-1]["error"].startswith("rank fault")


@pytest.mark.parametrize(("args", "message"), [
    (["--min-bytes", "0"], "--min-bytes '0' is not valid"),
    (["--collectives", "allreduce"], "--collectives 'allreduce' is not valid"),
    (["--rep-ms", "5"], "--rep-ms does not apply to collectives"),
    (["--device", "tpu"], "device 'tpu' is not valid"),
])
def test_bad_options_exit_2_with_one_line(args, message, capsys) -> None:
    from exabench.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["bench", "collectives", "--device", "cpu", *args])
    assert exit_.value.code == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and captured.out == ""


def test_help_has_examples() -> None:
    result = CliRunner().invoke(cli, ["bench", "collectives", "--help"])
    assert result.exit_code == 0 and "Examples:" in result.output and "--nproc" in result.output


def test_bench_all_appends_collectives_to_the_same_run(tmp_path, monkeypatch, capfd) -> None:
    from exabench.bench import suites
    from exabench.cli import main

    # Only the collectives suite, so the test times the merge, not GEMM and memory.
    monkeypatch.setattr(suites, "SUITES", {"collectives": suites.SUITES["collectives"]})
    with pytest.raises(SystemExit) as exit_:
        main(["bench", "all", "--quick", "--device", "cpu", "--out", str(tmp_path)])
    out = capfd.readouterr().out  # the ranks' table comes through the inherited file descriptor
    assert exit_.value.code == 0, out
    assert "# collectives over 2 CPU processes (gloo)" in out and "Avg bus bandwidth" in out
    run = only_run(tmp_path)
    assert (
        run["config"]["suites"] == ["collectives"]
        and run["config"]["collectives_run"]["backend"] == "gloo"
    )
    assert len(run["results"]) == 27 and {r["params"]["nranks"] for r in run["results"]} == {2}
    assert all(r["status"] == "ok" and r["metrics"]["wrong"] == 0 for r in run["results"])


def test_resume_finishes_a_half_done_collectives_sweep(tmp_path, monkeypatch, capfd) -> None:
    """A Run cut off part-way through the collectives of ``bench all`` is finished by
    ``--resume``: only the missing cases are measured, each case once, the kept ones untouched."""
    import json

    from exabench.bench import suites
    from exabench.bench.collectives.sweep import case_id
    from exabench.cli import main

    monkeypatch.setattr(suites, "SUITES", {"collectives": suites.SUITES["collectives"]})
    with pytest.raises(SystemExit) as exit_:
        main(["bench", "all", "--quick", "--device", "cpu", "--out", str(tmp_path)])
    assert exit_.value.code == 0
    path = next(tmp_path.glob("*.json"))
    doc = json.loads(path.read_text())
    kept = doc["results"][:10]
    path.write_text(json.dumps({**doc, "results": kept}))
    capfd.readouterr()

    def ids(results):
        return [
            case_id(
                r["params"]["dtype"],
                r["name"],
                r["params"]["count"],
                r["params"]["inplace"],
                r["params"]["nranks"],
            )
            for r in results
        ]

    with pytest.raises(SystemExit) as exit_:
        main([
            "bench",
            "all",
            "--quick",
            "--device",
            "cpu",
            "--out",
            str(tmp_path),
            "--resume",
            str(path),
        ])
    out = capfd.readouterr().out
    assert exit_.value.code == 0, out
    assert "10 results kept, 17 to go" in out
    run = only_run(tmp_path)
    assert run["results"][:10] == kept
    assert len(run["results"]) == 27 and len(set(ids(run["results"]))) == 27
    assert set(ids(run["results"])) == set(ids(doc["results"]))
    with pytest.raises(SystemExit) as exit_:
        main([
            "bench",
            "all",
            "--quick",
            "--device",
            "cpu",
            "--out",
            str(tmp_path),
            "--resume",
            str(path),
        ])
    out = capfd.readouterr().out
    assert (
        exit_.value.code == 0
        and "27 results kept, 0 to go" in out
        and "# collectives over" not in out
    )


def test_resume_measures_again_what_a_rank_fault_cut_off(tmp_path, monkeypatch, capfd) -> None:
    """The killed attempt's process failures (the ranks' launch, a case cut off by a rank
    fault) are set aside under ``superseded``, that case is measured again, and the finished
    Run exits 0."""
    import json

    from exabench.bench import suites
    from exabench.cli import main
    from exabench.documents.run import make_result

    monkeypatch.setattr(suites, "SUITES", {"collectives": suites.SUITES["collectives"]})
    with pytest.raises(SystemExit):
        main(["bench", "all", "--quick", "--device", "cpu", "--out", str(tmp_path)])
    path = next(tmp_path.glob("*.json"))
    doc = json.loads(path.read_text())
    tenth = doc["results"][10]
    cut = make_result(
        suite="collectives",
        name=tenth["name"],
        params=tenth["params"],
        status="failed",
        error="rank fault: rank 1: gathering the results failed",
    )
    launch = make_result(suite="collectives", name="launch", params={"nranks": 2}, status="failed",
                         error="rank 1 exited with code 9")  # as run_in_all records it
    path.write_text(json.dumps({**doc, "results": [*doc["results"][:10], cut, launch]}))
    capfd.readouterr()
    with pytest.raises(SystemExit) as exit_:
        main([
            "bench",
            "all",
            "--quick",
            "--device",
            "cpu",
            "--out",
            str(tmp_path),
            "--resume",
            str(path),
        ])
    out, err = capfd.readouterr()
    assert exit_.value.code == 0, out + err
    assert "10 results kept, 17 to go" in out
    run = only_run(tmp_path)
    assert len(run["results"]) == 27 and all(r["status"] == "ok" for r in run["results"])
    assert [s["result"]["error"] for s in run["superseded"]] == [cut["error"], launch["error"]]


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:  # a thread that ended while we looked
            continue
    return found


@pytest.mark.skipif(
    not Path("/proc/self/task").exists(), reason="needs Linux /proc to find the ranks"
)
def test_killing_a_rank_from_outside_part_way(tmp_path) -> None:
    import signal

    args = [
        "bench",
        "collectives",
        "--device",
        "cpu",
        "--nproc",
        "3",
        "--collectives",
        "all_reduce",
        "--min-bytes",
        "1Ki",
        "--max-bytes",
        "1Mi",
        "--step-factor",
        "2",
        "--iters",
        "100",
        "--timeout",
        "5",
        "--out",
        str(tmp_path),
    ]
    proc = subprocess.Popen([sys.executable, "-m", "exabench", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:  # wait until two sizes are durable in the Run
            runs = list(tmp_path.glob("*.json"))
            if runs and len(load_run(runs[0])["results"]) >= 2:
                break
            time.sleep(0.1)
        ranks = sorted(_children(proc.pid))
        assert len(ranks) == 3, (ranks, proc.poll())
        killed_at = time.monotonic()
        os.kill(ranks[2], signal.SIGKILL)
        _out, err = proc.communicate(timeout=60)
        assert (
            time.monotonic() - killed_at < 30
        ), err  # well within the timeout (5 s) plus the launcher's grace
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 1, err
    assert "rank 2 was killed by SIGKILL" in err, err
    results = only_run(tmp_path)["results"]
    assert sum(r["status"] == "ok" for r in results) >= 2, results
    assert results[-1]["status"] == "failed", [r["status"] for r in results]
