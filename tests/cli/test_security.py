"""Security: Run and Plan files are data only, the HTML report escapes what comes from inputs,
the collectives rendezvous binds to loopback unless told otherwise, and subprocesses get
argument lists, never a shell."""

from __future__ import annotations

import ast
import inspect
import json
import re
from pathlib import Path

import pytest

from exabench.cli import main

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted(
    p
    for folder in ("exabench", "bench", "workloads", "analysis", "reports", "benchmarks")
    for p in (ROOT / folder).rglob("*.py")
)
EVIL = '</script><script>document.body.dataset.pwned="1"</script><img src=x onerror=alert(1)>'


def _calls(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            yield node, ast.unparse(node.func)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_code_from_data_and_no_shell(path: Path) -> None:
    """No pickle/marshal/eval/exec/yaml.load anywhere; subprocesses take a literal argument list
    and never ``shell=True``; no os.system/os.popen."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] + (
                [node.module] if isinstance(node, ast.ImportFrom) and node.module else []
            )
            assert not {"pickle", "cPickle", "marshal", "shelve", "dill", "cloudpickle"} & set(
                names
            ), (path, names)
    for call, name in _calls(tree):
        assert name not in (
            "eval",
            "exec",
            "os.system",
            "os.popen",
            "yaml.load",
            "pickle.load",
            "pickle.loads",
            "torch.load",
            "np.load",
            "numpy.load",
        ), (path, call.lineno, name)
        if name.startswith("subprocess.") or name in ("Popen", "run", "check_output", "check_call"):
            for keyword in call.keywords:
                assert not (
                    keyword.arg == "shell"
                    and not (
                        isinstance(keyword.value, ast.Constant) and keyword.value.value is False
                    )
                ), (path, call.lineno, "shell=")
            if name.startswith("subprocess.") and call.args:
                first = call.args[0]
                assert not isinstance(first, (ast.Constant, ast.JoinedStr, ast.BinOp)), (
                    path,
                    call.lineno,
                    "a command string",
                )


def _evil_run(folder: Path) -> Path:
    from exabench.bench.writer import RunWriter
    from exabench.documents.run import make_result

    env = {"fingerprint": "fp", "host": {"hostname": EVIL}, "gpu": {"devices": [{"name": EVIL}]},
           "software": {"torch": "$(touch pwned)"}}
    writer = RunWriter(
        folder,
        env,
        {"argv": ["; touch pwned", "`touch pwned`"], "out": "/tmp/../pwned", "suites": ["gemm"]},
    )
    for m in (256, 512):
        writer.add(
            make_result(
                suite="gemm",
                name=EVIL,
                params={"m": m, "n": m, "k": m, "dtype": "fp32", EVIL: EVIL},
                samples=[1e-3, 1.1e-3, 1.2e-3],
                metrics={"tflops": 1.0},
            )
        )
    writer.add(make_result(suite="gemm", name="x", params={"m": 1}, status="failed", error=EVIL))
    writer.close()
    return writer.path


def _run_cli(args: list[str]) -> int:
    with pytest.raises(SystemExit) as info:
        main(args)
    return info.value.code


def test_run_files_are_data_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    """Strings shaped like commands and paths in a Run are never executed or followed: reading
    it through every command that takes a Run creates nothing and runs nothing."""
    import subprocess

    monkeypatch.chdir(tmp_path)
    run = _evil_run(tmp_path / "runs")
    started = []
    monkeypatch.setattr(
        subprocess, "Popen", lambda *a, **k: started.append(a) or pytest.fail(f"subprocess {a}")
    )
    for args in (
        ["compare", str(run), str(run), "--format", "json"],
        ["history", str(tmp_path / "runs")],
        ["export", str(run), "--format", "bencher"],
        ["report", str(run), "--out", str(tmp_path / "report"), "--no-images"],
    ):
        assert _run_cli(args) in (0, 1, 3), args
    capsys.readouterr()
    assert not started and not list(tmp_path.rglob("pwned")) and not Path("/tmp/pwned").exists()


def test_the_html_report_escapes_every_input_string(tmp_path: Path, capsys) -> None:
    """Names, params, errors, host and GPU names from a Run and a model name from a Plan:
    all text in the page, never markup (tests/reports/test_html.py checks the renderer itself)."""
    run = _evil_run(tmp_path / "runs")
    from exabench.testing import samples

    plan = samples.sample_plan(gpus=8)
    plan["inputs"]["model"]["name"] = EVIL
    plan_path = tmp_path / "plan.json"
    plan_path.write_text(json.dumps(plan))
    assert (
        _run_cli(
            ["report", str(run), str(plan_path), "--out", str(tmp_path / "report"), "--no-images"]
        )
        == 0
    )
    capsys.readouterr()
    page = (tmp_path / "report" / "report.html").read_text(encoding="utf-8")
    assert "&lt;/script&gt;&lt;script&gt;document.body.dataset.pwned" in page
    assert len(re.findall(r"<script\b", page)) == 3  # the bundle, the specs, the embed code
    outside_scripts = re.sub(r"<script\b.*?</script>", "", page, flags=re.S)
    assert "<img" not in outside_scripts


def test_the_rendezvous_binds_to_loopback_by_default() -> None:
    from exabench.bench.collectives import launch
    from exabench.commands.bench_collectives import collectives_command

    assert inspect.signature(launch.launch_local).parameters["bind"].default == "127.0.0.1"
    option = next(p for p in collectives_command.params if p.name == "master_addr")
    assert option.default == "127.0.0.1"


def test_the_rendezvous_listens_where_it_is_told(monkeypatch: pytest.MonkeyPatch) -> None:
    """launch_local binds its socket to ``bind`` (loopback unless --master-addr says otherwise)."""
    import socket

    from exabench.bench.collectives import launch
    from exabench.errors import UserError

    bound = []
    real_bind = socket.socket.bind

    def record(self, address):
        bound.append(address[0])
        return real_bind(self, address)

    monkeypatch.setattr(socket.socket, "bind", record)
    monkeypatch.setattr(
        launch.subprocess, "Popen", lambda *a, **k: (_ for _ in ()).throw(UserError("stop here"))
    )
    with pytest.raises(UserError, match="stop here"):
        launch.launch_local(["--help"], 1, timeout_s=5)
    assert bound and bound[0] == "127.0.0.1"
