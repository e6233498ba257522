"""The command line: click options → Settings → a library function → exit code, for every command.

Commands live one module per concern in this package; each is a thin layer over a plain function
of the library. A GeneratorError becomes a message and its exit code here, in one place; any other
exception is a bug, reported in one line with exit 3, never as a traceback.
"""

from __future__ import annotations

import os
import sys
import traceback
from pathlib import Path

import click

from ..errors import EXIT_BUG, EXIT_FAILED, GeneratorError
from ..settings import LOCK_WAIT_SECONDS, cache_home
from ..version import version_line
from . import budget, completion, diff, init, keys, render, template, validate
from .options import Invocation

EXIT_CODES = ("Exit codes: 0 success; 1 drift, invalid manifests, a deployment that cannot fit, or another run "
              "holding the project lock; 2 bad input; 3 a bug in gemma-gitops (one line to report, never a traceback).")
PACKAGE = Path(__file__).resolve().parents[1]
BUG_REPORT = "please report it with the command and the values that caused it"


class Cli(click.Group):
    """The command group; the one place a GeneratorError becomes a message and an exit code."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except GeneratorError as err:
            for line in err.lines():
                click.echo(line if line.startswith("  ") else f"error: {line}", err=True)
            ctx.exit(err.exit_code)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except OSError as err:  # the filesystem failed where no stage expected it: cannot proceed, not a bug
            where = f"{err.filename}: " if err.filename else ""
            click.echo(f"error: cannot proceed: {where}{err.strerror or err}", err=True)
            ctx.exit(EXIT_FAILED)
        except Exception as err:  # the one place a bug becomes a line instead of a traceback
            click.echo(bug_line(err), err=True)
            ctx.exit(EXIT_BUG)


def bug_line(err: BaseException) -> str:
    """`internal error: ZeroDivisionError: division by zero (generator/guards.py:88, in run); this is a bug ...`."""
    frames = [(Path(f.filename), f) for f in traceback.extract_tb(err.__traceback__)]
    ours = [(path, f) for path, f in frames if path.is_relative_to(PACKAGE)]
    where = ""
    if ours:
        path, frame = ours[-1]
        where = f" ({PACKAGE.name}/{path.relative_to(PACKAGE).as_posix()}:{frame.lineno}, in {frame.name})"
    message = " ".join(str(err).split())[:300]
    return f"internal error: {type(err).__name__}: {message}{where}; this is a bug in gemma-gitops, {BUG_REPORT}"


def print_version(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    """`--version`: the tool's version and the llama.cpp build it deploys, then exit."""
    if value and not ctx.resilient_parsing:
        click.echo(version_line())
        ctx.exit(0)


root_option = click.option(
    "--root", type=click.Path(file_okay=False, path_type=Path), default=None,
    help=("Project root holding gemma-gitops.toml and values/. Default: the nearest directory at or above"
          " the working directory that holds both."))


lock_wait_option = click.option(
    "--lock-wait", type=click.FloatRange(min=0, max=3600), default=LOCK_WAIT_SECONDS, show_default=True,
    envvar="GEMMA_GITOPS_LOCK_WAIT", metavar="SECONDS",
    help="How long to wait for another gemma-gitops run's project lock before exiting 1. Env: GEMMA_GITOPS_LOCK_WAIT.")


@click.group(cls=Cli, context_settings={"help_option_names": ["-h", "--help"]}, epilog=EXIT_CODES)
@click.option("--version", is_flag=True, expose_value=False, is_eager=True, callback=print_version,
              help="Print the version and the llama.cpp build it deploys, then exit.")
@root_option
@lock_wait_option
@click.pass_context
def cli(ctx: click.Context, root: Path | None, lock_wait: float) -> None:
    """Render a self-hosted llama.cpp API deployment into plain Kubernetes YAML for Argo CD."""
    ctx.obj = Invocation(root, lock_wait, cache_home(os.environ))


for command in (*init.COMMANDS, *render.COMMANDS, *template.COMMANDS, *validate.COMMANDS, *budget.COMMANDS,
                *diff.COMMANDS, *keys.COMMANDS, *completion.COMMANDS):
    cli.add_command(command)


def main() -> None:
    """Console-script entry point: output that the terminal's encoding cannot show is escaped, not a crash."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")
    try:
        cli(prog_name="gemma-gitops")
    except Exception as err:  # outside a command (option parsing): still one line, exit 3
        click.echo(bug_line(err), err=True)
        sys.exit(EXIT_BUG)
