"""The ``exabench`` command line: the spine that wires bench, workloads, analysis and reports.

Each command group lives in its own module under ``exabench/commands/``; heavy imports (torch,
cupy, altair) stay inside command bodies so ``exabench --help`` runs where they are absent.
User errors of every kind end here as one line on stderr and exit code 2.
"""

from __future__ import annotations

import math
import sys

import click

from exabench import __version__
from exabench.errors import USER_ERROR_EXIT, UserError

# click >= 8.2 raises NoArgsIsHelpError for a group called without a subcommand.
_NO_ARGS_IS_HELP = getattr(click.exceptions, "NoArgsIsHelpError", ())

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 110}


@click.group(context_settings=CONTEXT_SETTINGS)
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


def _register_commands() -> None:
    from exabench.commands import all_commands

    for command in all_commands():
        _finite_floats(command)
        cli.add_command(command)


_register_commands()


def _one_line(message: str) -> str:
    """click lists choices over several lines; the contract is one line."""
    return " ".join(message.split())


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: run the CLI, turn every user error into one line and exit 2."""
    args = sys.argv[1:] if argv is None else list(argv)
    if any("\x00" in arg for arg in args):  # os.stat and open raise ValueError on it, deep inside
        click.echo("error: an argument contains a NUL byte, which no file name or value can hold; retype it", err=True)
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
