"""One module per command group. Each exposes ``command`` (a click command or group) and
imports only click (and light exabench modules) at its top."""

from __future__ import annotations

import importlib

import click

# Order is the order of `exabench --help`. Add a module here to add a command group.
COMMAND_MODULES = ("env", "bench", "run", "plan", "search", "scale", "infer", "validate", "catalog", "report", "compare", "history", "export")


def all_commands() -> list[click.Command]:
    return [importlib.import_module(f"exabench.commands.{name}").command for name in COMMAND_MODULES]
