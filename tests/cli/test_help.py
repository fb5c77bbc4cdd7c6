"""Every command and subcommand's --help shows an "Examples:" block of real invocations."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from exabench.cli import cli


def _walk(command: click.Command, path: list[str]):
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from _walk(sub, [*path, name])


COMMANDS = list(_walk(cli, []))


def test_every_command_is_walked() -> None:
    names = {" ".join(p) for p, _ in COMMANDS}
    assert {"", "bench", "bench gemm", "bench memory", "bench collectives", "bench all", "run", "plan", "search",
            "report", "compare", "history", "validate", "catalog", "env"} <= names


@pytest.mark.parametrize("path", [p for p, _ in COMMANDS], ids=lambda p: " ".join(p) or "exabench")
def test_help_has_examples(path: list[str]) -> None:
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Examples:" in result.output, f"exabench {' '.join(path)} --help has no Examples block"
    block = result.output.split("Examples:", 1)[1]
    examples = [line.strip() for line in block.splitlines() if line.strip().startswith(("exabench", "torchrun", "srun"))]
    assert examples, f"exabench {' '.join(path)} --help: the Examples block shows no command"
    if path:
        assert any(" ".join(path) in e for e in examples), (path, examples)
