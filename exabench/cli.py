"""The ``exabench`` command line: the spine that wires bench, workloads, analysis and reports.

Each command lives in its own module, ``exabench/commands/<name>.py``, and is imported only when
it runs (click's lazy subcommands): ``exabench --help`` lists :data:`COMMANDS` without loading
any, and ``exabench plan`` loads the planner, not the bench or the report libraries. Heavy
optional imports (torch, cupy, altair) stay inside command bodies so every command's --help
runs where they are absent. User errors of every kind end here as one line on stderr and exit
code 2.
"""

from __future__ import annotations

import importlib
import math
import sys

import click

from exabench import __version__
from exabench.errors import USER_ERROR_EXIT, UserError

# click >= 8.2 raises NoArgsIsHelpError for a group called without a subcommand.
_NO_ARGS_IS_HELP = getattr(click.exceptions, "NoArgsIsHelpError", ())

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 110}
COMMANDS = {
    "bench": "Run microbenchmarks and write a Run document.",
    "catalog": "The shipped models, hardware, clusters and published runs.",
    "compare": "Regression verdict between two Runs or pytest-benchmark files, with an exit code.",
    "env": "Print the environment fingerprint of this machine.",
    "export": "Write a Run in another tool's JSON (pytest-benchmark, bencher).",
    "history": "Change points over a folder of Runs.",
    "infer": "GPUs to serve a request rate at a time-per-token target.",
    "plan": "Predict one training run: step time, MFU, memory, days, cost.",
    "report": "Render Runs, Plans and comparisons as one offline report.",
    "run": "The main job: benchmark this machine, plan 100k GPUs, report.",
    "scale": "Scaling curve from 8 GPUs to the cluster, best layout at each.",
    "search": "The best parallel layouts of a model on a cluster, ranked.",
    "validate": "The planner against the published training runs.",
}
"""Every command (its module is ``exabench.commands.<name>``) and its short help: the one place
``exabench --help`` reads it from. Add a module and a line here to add a command."""


class LazyGroup(click.Group):
    """A group whose subcommands load on first use, as click's documentation shows for lazy
    subcommands; each is wrapped by :func:`_finite_floats` once, when it loads."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        if cmd_name not in self.commands:
            command = importlib.import_module(f"exabench.commands.{cmd_name}").command
            command.short_help = COMMANDS[cmd_name]
            _finite_floats(command)
            self.add_command(command, cmd_name)
        return self.commands[cmd_name]

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list from :data:`COMMANDS`, without importing a command."""
        with formatter.section("Commands"):
            formatter.write_dl(sorted(COMMANDS.items()))


@click.group(cls=LazyGroup, context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, "--version", prog_name="exabench")
def cli() -> None:
    """Measure what a GPU node really does, and plan clusters of up to 100,000 GPUs from it.

    \b
    Examples:
      exabench env
      exabench bench gemm --quick
      exabench run --quick --out results/
    """


def _finite_floats(command: click.Command) -> None:
    """Every float option of every command refuses nan and infinity (click's FloatRange lets
    them through: nan compares false with its bounds), so no command computes on them."""
    for param in command.params:
        if isinstance(param.type, click.types.FloatParamType):
            param.callback = _finite_check(param.callback)
    for sub in getattr(command, "commands", {}).values():
        _finite_floats(sub)


def _finite_check(original):
    def check(ctx: click.Context, param: click.Parameter, value):
        for item in value if isinstance(value, (tuple, list)) else (value,):
            if isinstance(item, float) and not math.isfinite(item):
                raise click.BadParameter(f"{item} is not a finite number", ctx=ctx, param=param)
        return original(ctx, param, value) if original else value

    return check


def _one_line(message: str) -> str:
    """click lists choices over several lines; the contract is one line."""
    return " ".join(message.split())


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: run the CLI, turn every user error into one line and exit 2."""
    args = sys.argv[1:] if argv is None else list(argv)
    if any("\x00" in arg for arg in args):  # os.stat and open raise ValueError on it, deep inside
        click.echo(
            "error: an argument contains a NUL byte, which no file name or value can hold;"
            " retype it",
            err=True,
        )
        sys.exit(USER_ERROR_EXIT)
    try:
        rv = cli.main(args=argv, prog_name="exabench", standalone_mode=False)
    except UserError as error:
        click.echo(f"error: {error.message}", err=True)
        sys.exit(USER_ERROR_EXIT)
    except _NO_ARGS_IS_HELP as error:
        # `exabench bench` with no subcommand: show the help, as users expect.
        click.echo(error.ctx.get_help() if error.ctx else str(error))
        sys.exit(0)
    except click.UsageError as error:
        hint = f" (see '{error.ctx.command_path} --help')" if error.ctx else ""
        click.echo(f"error: {_one_line(error.format_message())}{hint}", err=True)
        sys.exit(USER_ERROR_EXIT)
    except click.ClickException as error:
        click.echo(f"error: {_one_line(error.format_message())}", err=True)
        sys.exit(USER_ERROR_EXIT)
    except click.exceptions.Abort:
        click.echo("error: aborted", err=True)
        sys.exit(130)
    except click.exceptions.Exit as exit_:
        sys.exit(exit_.exit_code)
    except KeyboardInterrupt:
        click.echo("error: interrupted; finished results were kept", err=True)
        sys.exit(130)
    sys.exit(rv if isinstance(rv, int) else 0)
