"""End-to-end: the CLI as a user runs it (CliRunner for speed, subprocesses where the process
boundary matters: no torch, Ctrl-C)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from exabench import __version__
from exabench.cli import cli, main
from exabench.documents.run import JOURNAL_SUFFIX, load_run


def run_main(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(args)
    out, err = capsys.readouterr()
    return info.value.code, out, err


def test_version_and_help() -> None:
    runner = CliRunner()
    assert __version__ in runner.invoke(cli, ["--version"]).output
    help_text = runner.invoke(cli, ["--help"]).output
    for name in ("env", "bench", "run"):
        assert name in help_text


def test_help_and_version_work_without_torch() -> None:
    code = (
        "import sys; sys.modules['torch'] = None; sys.modules['pynvml'] = None\n"
        "from exabench.cli import main\n"
        "main(sys.argv[1:])\n"
    )
    for args in (["--help"], ["--version"], ["bench", "--help"], ["bench", "gemm", "--help"]):
        proc = subprocess.run(
            [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=60
        )
        assert proc.returncode == 0, proc.stderr
        assert "Traceback" not in proc.stderr


def test_bench_without_torch_is_a_one_line_error() -> None:
    code = (
        "import sys; sys.modules['torch'] = None\nfrom exabench.cli import"
        " main\nmain(sys.argv[1:])\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, "bench", "gemm", "--quick"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "pip install" in proc.stderr


def test_env_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_main(["env", "--json"], capsys)
    assert code == 0
    env = json.loads(out)
    assert env["fingerprint"] and "host" in env and "gpu" in env


def test_env_table(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_main(["env"], capsys)
    assert code == 0 and "fingerprint" in out


def test_bench_gemm_cpu_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_main(
        [
            "bench",
            "gemm",
            "--device",
            "cpu",
            "--sizes",
            "64,128",
            "--dtype",
            "fp32,fp64,tf32",
            "--rep-ms",
            "5",
            "--warmup-ms",
            "1",
            "--out",
            str(tmp_path),
        ],
        capsys,
    )
    assert code == 0, err
    lines = out.splitlines()
    assert lines[1].split()[1:4] == ["name", "dtype", "backend"]  # the names row
    assert "(us)" in lines[2] and "(TFLOP/s)" in lines[2]        # the units row
    assert "skip" in out and "OK" in out
    runs = list(tmp_path.glob("*.json"))
    assert len(runs) == 1 and str(runs[0]) in out
    doc = load_run(runs[0])
    assert [r["status"] for r in doc["results"]] == ["ok", "ok", "ok", "ok", "skipped", "skipped"]
    gemm = doc["results"][0]
    assert gemm["params"]["dtype"] == "fp32" and gemm["metrics"]["tflops"] > 0
    assert doc["environment"]["fingerprint"] and doc["config"]["suites"] == ["gemm"]


def test_bench_gemm_json_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_main(
        [
            "bench",
            "gemm",
            "--device",
            "cpu",
            "--sizes",
            "32",
            "--dtype",
            "fp32",
            "--rep-ms",
            "2",
            "--warmup-ms",
            "1",
            "--json",
            "--out",
            str(tmp_path),
        ],
        capsys,
    )
    assert code == 0
    doc = json.loads(out)
    assert doc["schema"] == "exabench.run/1" and doc["results"][0]["status"] == "ok"


def test_quick_cpu_gemm_is_quick(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    start = time.perf_counter()
    code, _, err = run_main(
        ["bench", "gemm", "--quick", "--device", "cpu", "--out", str(tmp_path)], capsys
    )
    assert code == 0, err
    assert time.perf_counter() - start < 30  # the bound for --quick on a 2-core CPU


@pytest.mark.parametrize("args, message", [
    (["bench", "gemm", "--dtype", "fp9"], "--dtype 'fp9' is not valid"),
    (["bench", "gemm", "--backend", "jax"], "--backend 'jax' is not valid"),
    (["bench", "gemm", "--device", "tpu"], "device 'tpu' is not valid"),
    (["bench", "gemm", "--sizes", "12q"], "size '12q' is not valid"),
    (["bench", "gemm", "--shapes", "1x2"], "MxNxK"),
    (["bench", "gemm", "--nope"], "No such option"),
    (["bench", "nothing"], "No such command"),
])
def test_user_errors_are_one_line_exit_2(args: list[str], message: str, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_main([*args, "--out", str(tmp_path)], capsys)
    assert code == 2
    assert err.startswith("error: ") and err.strip().count("\n") == 0
    assert message in err
    assert "Traceback" not in err


def test_cuda_without_a_gpu_is_a_user_error(capsys: pytest.CaptureFixture[str]) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    code, _, err = run_main(["bench", "gemm", "--device", "cuda"], capsys)
    assert code == 2 and "no CUDA GPU" in err


def test_shape_that_cannot_fit_is_recorded_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_main(
        [
            "bench",
            "gemm",
            "--device",
            "cpu",
            "--dtype",
            "fp32",
            "--shapes",
            "64x64x64,300000x300000x300000",
            "--rep-ms",
            "2",
            "--warmup-ms",
            "1",
            "--out",
            str(tmp_path),
        ],
        capsys,
    )
    assert code == 2 and "out of memory" in err and err.strip().count("\n") == 0
    doc = load_run(next(tmp_path.glob("*.json")))
    assert [r["status"] for r in doc["results"]] == [
        "ok",
        "failed",
    ]  # the sweep went on; nothing lost


# The child runs the CLI with Python's own Ctrl-C handler: a shell that starts a job in the
# background without job control ignores SIGINT, the child would inherit that and finish the
# sweep with exit 0, as if the interrupt had come too late.
_CLI_WITH_CTRL_C = (
    "import signal, sys\n"
    "signal.signal(signal.SIGINT, signal.default_int_handler)\n"
    "from exabench.cli import main\n"
    "main(sys.argv[1:])\n"
)
CTRL_C_CASES = 400
CTRL_C_WARMUP_MS = 50  # each case warms up this long, so the sweep runs >= 400 x 50 ms = 20 s


def _journal_lines(out_dir: Path) -> list[dict]:
    """The finished results the Run's journal holds now: one complete line each, appended as a
    result finishes, before the Run file is rewritten (a line still being written is left out)."""
    lines = []
    for journal in out_dir.glob(f"*.json{JOURNAL_SUFFIX}"):
        try:
            text = journal.read_text(encoding="utf-8")
        except FileNotFoundError:  # the Run was closed in between: the poll below says so
            continue
        lines += [json.loads(line) for line in text[: text.rfind("\n") + 1].splitlines()]
    return lines


def test_ctrl_c_part_way_keeps_finished_results(tmp_path: Path) -> None:
    """Ctrl-C once two results are in the journal: the sweep has started, and with a wall-clock
    floor of CTRL_C_WARMUP_MS per case (the warm-up runs until its budget is spent, on any CPU)
    it has at least (CTRL_C_CASES - 2) x CTRL_C_WARMUP_MS = 19.9 s left: the interrupt lands
    mid-sweep, and the test itself lasts only until it does."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            _CLI_WITH_CTRL_C,
            "bench",
            "gemm",
            "--device",
            "cpu",
            "--dtype",
            "fp32",
            "--sizes",
            ",".join(["64"] * CTRL_C_CASES),
            "--rep-ms",
            "1",
            "--warmup-ms",
            str(CTRL_C_WARMUP_MS),
            "--out",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,  # the table would fill the pipe; the journal is the signal
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120  # the start (importing torch) is all this waits for
        while len(journaled := _journal_lines(tmp_path)) < 2:
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"no two journal lines while the sweep ran (exit {proc.poll()}): "
                            f"{proc.stderr.read() if proc.poll() is not None else 'timed out'}")
            time.sleep(0.01)
        assert proc.poll() is None, "the sweep ended before the interrupt"
        os.kill(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 2, err
    assert "interrupted" in err and "--resume" in err and err.strip().count("\n") == 0
    (path,) = tmp_path.glob("*.json")
    assert not list(tmp_path.glob(f"*{JOURNAL_SUFFIX}"))  # closed: the Run holds every result
    assert len(json.loads(path.read_text())["results"]) == len(load_run(path)["results"])
    doc = load_run(path)
    assert 2 <= len(doc["results"]) < CTRL_C_CASES
    assert all(r["status"] == "ok" for r in doc["results"])
    # What was journaled before the interrupt is what the Run keeps, in order.
    assert [r["samples"] for r in doc["results"][: len(journaled)]] == [
        line["result"]["samples"] for line in journaled
    ]
