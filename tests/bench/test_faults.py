"""Faults: a benchmark that raises, a process killed with SIGKILL at random moments, --resume,
a full disk. The Run on disk must stay valid and hold every finished result, whatever happens.

The kill test forks each run from one process that has already imported torch (a fork server),
so 20 kills take seconds rather than the 20 interpreter starts of ``python -m exabench``; the
child runs the same entry point (``exabench.cli.main``) with the same arguments. One kill, and
the 20-kill variant marked ``slow``, go through ``python -m exabench`` itself.
"""

from __future__ import annotations

import errno
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

from exabench.cli import main
from exabench.documents.run import load_run

FAST = ["--device", "cpu", "--warmup-ms", "0", "--rep-ms", "1", "--telemetry-hz", "0"]
LONG_SWEEP = [
    "bench",
    "gemm",
    *FAST,
    "--dtype",
    "fp32,fp64",
    "--sizes",
    ",".join(str(8 + i % 56) for i in range(1500)),
]


def run_main(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(args)
    out, err = capsys.readouterr()
    return info.value.code, out, err


def only_run(folder: Path) -> Path:
    runs = sorted(folder.glob("*.json"))
    assert len(runs) == 1, runs
    return runs[0]


# --- a benchmark that raises is recorded failed and the suite goes on ---------------------------

def _raise_on(cls: type, when, error: BaseException, monkeypatch: pytest.MonkeyPatch) -> None:
    original = cls.call

    def call(self, slot: int) -> None:
        if when(self):
            raise error
        original(self, slot)

    monkeypatch.setattr(cls, "call", call)


@pytest.mark.parametrize(
    "error, status, exit_code",
    [
        (
            RuntimeError("CUDA error: an illegal memory access was encountered"),
            "RuntimeError: CUDA error",
            1,
        ),
        (RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB"), "out of memory", 2),
    ],
)
def test_a_raising_gemm_is_failed_and_the_sweep_goes_on(
    error, status, exit_code, tmp_path, monkeypatch, capsys
) -> None:
    from exabench.bench.gemm.cases import GemmCase

    _raise_on(GemmCase, lambda case: case.m == 16, error, monkeypatch)
    code, _out, err = run_main(["bench", "gemm", *FAST, "--dtype", "fp32", "--sizes", "8,16,32",
                                "--out", str(tmp_path)], capsys)
    assert code == exit_code and err.count("\n") == 1, err
    results = load_run(only_run(tmp_path))["results"]
    assert [r["params"]["m"] for r in results] == [8, 16, 32]
    assert [r["status"] for r in results] == ["ok", "failed", "ok"]
    assert results[1]["error"].startswith(status)


def test_a_raising_memory_kernel_is_failed_and_the_sweep_goes_on(
    tmp_path, monkeypatch, capsys
) -> None:
    from exabench.bench.memory.stream import StreamCase

    _raise_on(StreamCase, lambda case: case.params["kernel"] == "add",
              RuntimeError("CUDA error: unspecified launch failure"), monkeypatch)
    code, _out, err = run_main(
        [
            "bench",
            "memory",
            *FAST,
            "--kernels",
            "copy,add,triad",
            "--sizes",
            "64Ki",
            "--out",
            str(tmp_path),
        ],
        capsys,
    )
    assert code == 1 and "add" in err and err.count("\n") == 1, err
    results = load_run(only_run(tmp_path))["results"]
    assert [(r["params"]["kernel"], r["status"]) for r in results] == [
        ("copy", "ok"),
        ("add", "failed"),
        ("triad", "ok"),
    ]


def test_bench_all_goes_on_to_the_next_suite_after_a_failure(tmp_path, monkeypatch, capsys) -> None:
    """gemm raising everywhere still lets memory run (collectives are left out: their faults are
    covered on real gloo ranks in tests/cli/test_collectives.py)."""
    from exabench.bench import suites
    from exabench.bench.gemm.cases import GemmCase

    monkeypatch.setitem(suites.SUITES, "collectives", suites.SUITES["collectives"].__class__(
        "collectives", lambda *_: [], suites.gemm_timing, run=lambda writer, *_: writer))
    _raise_on(
        GemmCase, lambda case: True, RuntimeError("CUBLAS_STATUS_EXECUTION_FAILED"), monkeypatch
    )
    with pytest.raises(SystemExit) as info:
        main(["bench", "all", "--quick", *FAST, "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert info.value.code == 1
    # The headline after the tables: the memory kernels that ran, no GEMM (every one failed).
    headline = out[out.index("# headline"):]
    assert "# memory (largest) add" in headline and "best GEMM" not in headline
    results = load_run(only_run(tmp_path))["results"]
    assert {r["status"] for r in results if r["suite"] == "gemm"} == {"failed"}
    assert {r["status"] for r in results if r["suite"] == "memory"} == {"ok"}


# --- SIGKILL at random moments ------------------------------------------------------------------

FORK_SERVER = textwrap.dedent("""
    import json, os, sys
    import torch  # noqa: F401 - imported once; every forked run shares it
    import exabench.cli
    from exabench.bench import env
    env.capture()  # warm the caches capture() fills on first use
    for line in sys.stdin:
        argv, stdout = json.loads(line)
        pid = os.fork()
        if pid == 0:
            fd = os.open(stdout, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
            os.dup2(fd, 1)
            sys.stdout = open(1, "w", buffering=1)  # a printed row is a row already recorded
            try:
                exabench.cli.main(argv)
            except SystemExit as end:
                os._exit(end.code if isinstance(end.code, int) else 1)
            os._exit(0)
        print(pid, flush=True)
        _, status = os.waitpid(pid, 0)
        print(status, flush=True)
""")


def _printed_rows(text: str) -> list[tuple]:
    rows = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 6 and not line.startswith("#") and fields[3].isdigit():
            rows.append((fields[0], fields[1], int(fields[3]), int(fields[4]), int(fields[5])))
    return rows


def _recorded(results: list[dict]) -> list[tuple]:
    return [
        (r["name"], r["params"]["dtype"], r["params"]["m"], r["params"]["n"], r["params"]["k"])
        for r in results
    ]


def _check_killed_run(out: Path, stdout_text: str) -> int:
    """The Run parses, and every row the process printed (after recording it) is in it, in order."""
    printed = _printed_rows(stdout_text)
    runs = sorted(out.glob("*.json"))
    if not runs:  # killed before the Run was created: nothing had finished
        assert printed == []
        return 0
    results = load_run(runs[0])["results"]
    recorded = _recorded(results)
    assert recorded[:len(printed)] == printed
    assert all(r["status"] == "ok" for r in results)
    return len(results)


def _wait_for_run(out: Path, deadline_s: float) -> None:
    deadline = time.monotonic() + deadline_s
    while not list(out.glob("*.json")) and time.monotonic() < deadline:
        time.sleep(0.01)


def test_sigkill_at_20_random_moments_leaves_a_valid_run(tmp_path: Path) -> None:
    rng = random.Random(20261125)
    server = subprocess.Popen([sys.executable, "-c", FORK_SERVER], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    kept = []
    try:
        for attempt in range(20):
            out, stdout = tmp_path / f"k{attempt}", tmp_path / f"k{attempt}.out"
            server.stdin.write(json.dumps([[*LONG_SWEEP, "--out", str(out)], str(stdout)]) + "\n")
            server.stdin.flush()
            pid = int(server.stdout.readline())
            _wait_for_run(out, 30)
            time.sleep(rng.uniform(0.0, 0.6))
            os.kill(pid, signal.SIGKILL)
            status = int(server.stdout.readline())
            assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, status
            kept.append(_check_killed_run(out, stdout.read_text()))
    finally:
        server.stdin.close()
        server.wait(timeout=30)
    assert sum(k > 0 for k in kept) >= 10, kept  # most kills landed mid-sweep, with results


def _kill_python_m_exabench(out: Path, delay_s: float) -> str:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "exabench", *LONG_SWEEP, "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    _wait_for_run(out, 60)
    time.sleep(delay_s)
    proc.kill()
    stdout, _ = proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    return stdout


def test_python_m_exabench_killed_then_resumed_finishes_without_repeats(
    tmp_path: Path, capsys
) -> None:
    sweep = [
        "bench",
        "gemm",
        *FAST,
        "--dtype",
        "fp32",
        "--sizes",
        ",".join(str(8 + i) for i in range(120)),
    ]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "exabench", *sweep, "--rep-ms", "5", "--out", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    _wait_for_run(tmp_path, 60)
    time.sleep(0.3)
    proc.kill()
    stdout, _ = proc.communicate(timeout=30)
    run = only_run(tmp_path)
    before = _check_killed_run(tmp_path, stdout)
    assert before < 120, "the sweep finished before the kill; make it longer"
    code, out, err = run_main([*sweep, "--rep-ms", "5", "--resume", str(run)], capsys)
    assert code == 0, err
    assert f"{before} results kept, {120 - before} to go" in out
    results = load_run(run)["results"]
    assert [r["params"]["m"] for r in results] == [8 + i for i in range(120)]  # each once, in order


@pytest.mark.slow
def test_python_m_exabench_sigkill_at_20_random_moments(tmp_path: Path) -> None:
    rng = random.Random(7)
    for attempt in range(20):
        out = tmp_path / f"k{attempt}"
        _check_killed_run(out, _kill_python_m_exabench(out, rng.uniform(0.0, 0.6)))


# --- --resume -----------------------------------------------------------------------------------

def _interrupted_run(tmp_path: Path, capsys, keep: int, sizes: str = "8,16,24,32") -> Path:
    code, _out, _err = run_main(
        ["bench", "gemm", *FAST, "--sizes", sizes, "--out", str(tmp_path)], capsys
    )
    assert code == 0
    run = only_run(tmp_path)
    doc = json.loads(run.read_text())
    doc["results"] = doc["results"][:keep]
    run.write_text(json.dumps(doc))
    return run


def test_resume_measures_only_what_is_missing_and_keeps_the_config(tmp_path, capsys) -> None:
    run = _interrupted_run(tmp_path, capsys, keep=3)
    before = json.loads(run.read_text())
    kept = before["results"]
    code, out, _ = run_main(
        ["bench", "gemm", *FAST, "--sizes", "8,16,24,32", "--resume", str(run)], capsys
    )
    assert code == 0 and "3 results kept, 5 to go" in out
    doc = load_run(run)
    assert doc["results"][:3] == kept  # finished results untouched, not re-measured
    assert [(r["params"]["dtype"], r["params"]["m"]) for r in doc["results"]] == [
        (d, m) for d in ("fp64", "fp32") for m in (8, 16, 24, 32)]
    assert (
        doc["config"] == before["config"] and doc["id"] == before["id"] and len(doc["resumed"]) == 1
    )
    assert len(list(tmp_path.glob("*.json"))) == 1  # no second Run


def test_resume_of_a_finished_run_measures_nothing(tmp_path, capsys) -> None:
    run = _interrupted_run(tmp_path, capsys, keep=8)
    code, out, _ = run_main(
        ["bench", "gemm", *FAST, "--sizes", "8,16,24,32", "--resume", str(run)], capsys
    )
    assert code == 0 and "8 results kept, 0 to go" in out
    assert len(load_run(run)["results"]) == 8


@pytest.mark.parametrize(
    "change, message",
    [
        (
            ["--sizes", "8,16"],
            "option sizes was '8,16,24,32', now '8,16'; resume with the same options",
        ),
        (["--sizes", "8,16,24,32", "--quick"], "its quick was False, now True"),
    ],
)
def test_resume_with_other_options_is_refused(change, message, tmp_path, capsys) -> None:
    run = _interrupted_run(tmp_path, capsys, keep=2)
    code, _out, err = run_main(["bench", "gemm", *FAST, *change, "--resume", str(run)], capsys)
    assert code == 2 and message in err and err.count("\n") == 1, err
    assert len(load_run(run)["results"]) == 2


def test_resume_tells_a_zero_option_from_an_absent_one(tmp_path, capsys) -> None:
    """--warmup-ms 0 is recorded in the config (0 == False once dropped it), so resuming with
    a warm-up the run did not have is refused."""
    run = _interrupted_run(tmp_path, capsys, keep=2)
    assert "warmup_ms" in json.loads(run.read_text())["config"]["options"]
    args = ["--device", "cpu", "--rep-ms", "1", "--telemetry-hz", "0"]  # FAST less --warmup-ms 0
    code, _out, err = run_main(
        ["bench", "gemm", *args, "--sizes", "8,16,24,32", "--resume", str(run)], capsys
    )
    assert code == 2 and "option warmup_ms was 0" in err, err


def test_resume_from_another_machine_is_refused(tmp_path, capsys) -> None:
    run = _interrupted_run(tmp_path, capsys, keep=2)
    doc = json.loads(run.read_text())
    doc["environment"]["fingerprint"] = "0000elsewhere"
    run.write_text(json.dumps(doc))
    code, _out, err = run_main(
        ["bench", "gemm", *FAST, "--sizes", "8,16,24,32", "--resume", str(run)], capsys
    )
    assert (
        code == 2
        and "another machine" in err
        and "without --resume" in err
        and err.count("\n") == 1
    )


@pytest.mark.parametrize("content", [None, "{truncated", '{"schema": "exabench.run/9"}'])
def test_resume_of_a_missing_or_bad_file_is_one_line(content, tmp_path, capsys) -> None:
    path = tmp_path / "r.json"
    if content is not None:
        path.write_text(content)
    code, _out, err = run_main(
        ["bench", "gemm", *FAST, "--sizes", "8", "--resume", str(path)], capsys
    )
    assert code == 2 and str(path) in err and err.count("\n") == 1, err


# --- a full disk --------------------------------------------------------------------------------

def _enospc(*_args, **_kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_full_disk_is_one_line_and_the_previous_file_stays(tmp_path, monkeypatch) -> None:
    from exabench import documents
    from exabench.errors import UserError

    path = tmp_path / "run.json"
    documents.atomic_write_text(path, '{"old": true}\n')
    monkeypatch.setattr(documents.os, "fsync", _enospc)
    with pytest.raises(UserError) as info:
        documents.atomic_write_text(path, '{"new": true}\n')
    message = str(info.value)
    assert "No space left on device" in message and "free space" in message and "\n" not in message
    assert path.read_text() == '{"old": true}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["run.json"]  # the temp file is gone


def test_disk_full_part_way_through_a_sweep(tmp_path, monkeypatch, capsys) -> None:
    """The write that fails stops the run with exit 2 and one line; the Run holds what came
    before."""
    from exabench import documents

    real, calls = documents.tempfile.mkstemp, []

    def filling(*args, **kwargs):  # the fourth temp file finds the disk full
        calls.append(args)
        if len(calls) > 3:
            _enospc()
        return real(*args, **kwargs)

    monkeypatch.setattr(documents.tempfile, "mkstemp", filling)
    code, _out, err = run_main(
        [
            "bench",
            "gemm",
            *FAST,
            "--dtype",
            "fp32",
            "--sizes",
            "8,16,24,32,40",
            "--out",
            str(tmp_path),
        ],
        capsys,
    )
    assert code == 2 and "No space left on device" in err and err.count("\n") == 1, err
    # The Run file holds 8 and 16; 24 finished and reached the journal beside it, which load_run
    # merges.
    assert [r["params"]["m"] for r in load_run(only_run(tmp_path))["results"]] == [8, 16, 24]


def test_a_real_full_filesystem(tmp_path) -> None:
    """A 256 KiB tmpfs (needs root and mount): a Run that outgrows it fails with one line and the
    last complete Run stays readable."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tiny tmpfs needs root")
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mnt)],
                      capture_output=True, check=False).returncode != 0:
        pytest.skip("mount is not permitted here")
    try:
        from exabench.bench.writer import RunWriter
        from exabench.documents.run import make_result
        from exabench.errors import UserError

        writer = RunWriter(mnt, {"fingerprint": "f"}, {})
        with pytest.raises(UserError, match="No space left on device") as info:
            for i in range(10_000):
                writer.add(make_result(suite="s", name="n", params={"i": i}, samples=[1e-3] * 100))
        assert "\n" not in str(info.value)
        results = load_run(writer.path)["results"]
        assert results and [r["params"]["i"] for r in results] == list(range(len(results)))
    finally:
        subprocess.run(["umount", str(mnt)], check=False)


def test_ctrl_c_says_how_to_resume(tmp_path, monkeypatch, capsys) -> None:
    from exabench.bench.gemm.cases import GemmCase

    _raise_on(GemmCase, lambda case: case.m == 24, KeyboardInterrupt(), monkeypatch)
    code, _out, err = run_main(["bench", "gemm", *FAST, "--dtype", "fp32", "--sizes", "8,16,24,32",
                                "--out", str(tmp_path)], capsys)
    run = only_run(tmp_path)
    assert code == 2 and err.count("\n") == 1 and f"--resume {run}" in err, err
    assert [r["params"]["m"] for r in load_run(run)["results"]] == [8, 16]
