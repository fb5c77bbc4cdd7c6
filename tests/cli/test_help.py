"""Every command and subcommand's --help shows an "Examples:" block of real invocations."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import exabench.commands
from exabench.cli import COMMANDS as COMMAND_HELP
from exabench.cli import cli


def _walk(command: click.Command, path: list[str]):
    yield path, command
    if isinstance(command, click.Group):  # commands load lazily: ask the group, not .commands
        ctx = click.Context(command)
        for name in command.list_commands(ctx):
            yield from _walk(command.get_command(ctx, name), [*path, name])


COMMANDS = list(_walk(cli, []))


def test_every_command_is_walked() -> None:
    names = {" ".join(p) for p, _ in COMMANDS}
    assert {
        "",
        "bench",
        "bench gemm",
        "bench memory",
        "bench collectives",
        "bench all",
        "run",
        "plan",
        "search",
        "report",
        "compare",
        "history",
        "validate",
        "catalog",
        "env",
    } <= names


@pytest.mark.parametrize("path", [p for p, _ in COMMANDS], ids=lambda p: " ".join(p) or "exabench")
def test_help_has_examples(path: list[str]) -> None:
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Examples:" in result.output, f"exabench {' '.join(path)} --help has no Examples block"
    block = result.output.split("Examples:", 1)[1]
    examples = [
        line.strip()
        for line in block.splitlines()
        if line.strip().startswith(("exabench", "torchrun", "srun"))
    ]
    assert examples, f"exabench {' '.join(path)} --help: the Examples block shows no command"
    if path:
        assert any(" ".join(path) in e for e in examples), (path, examples)



def test_commands_load_only_when_they_run() -> None:
    """`exabench --help` lists COMMANDS without importing a command module; `exabench plan`
    imports plan's, not bench's (a light, torch-free start-up)."""
    folder = Path(exabench.commands.__file__).parent
    assert set(COMMAND_HELP) <= {p.stem for p in folder.glob("*.py")}
    code = ("import sys; from click.testing import CliRunner; from exabench.cli import cli; "
            "CliRunner().invoke(cli, sys.argv[1:]); "
            "print(sorted(m for m in sys.modules if m.startswith('exabench.commands.')))")

    def loaded(*args: str) -> str:
        return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                              check=True).stdout

    assert loaded("--help") == "[]\n"
    after_plan = loaded("plan", "--help")
    assert "'exabench.commands.plan'" in after_plan and "exabench.commands.bench'" not in after_plan
