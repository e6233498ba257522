"""The command line: click options → Settings → a library function → exit code, for every command.

Commands live one module per concern in this package; each is a thin layer over a plain function
of the library. A GeneratorError becomes a message and its exit code here, in one place.
"""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import GeneratorError
from ..version import version_line
from . import budget, completion, diff, init, render, template, validate
from .options import Invocation

EXIT_CODES = "Exit codes: 0 success; 1 drift, invalid manifests or a deployment that cannot fit; 2 bad input."


class Cli(click.Group):
    """The command group; the one place a GeneratorError becomes a message and an exit code."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except GeneratorError as err:
            for line in err.lines():
                click.echo(line if line.startswith("  ") else f"error: {line}", err=True)
            ctx.exit(err.exit_code)


def print_version(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    """`--version`: the tool's version and the llama.cpp build it deploys, then exit."""
    if value and not ctx.resilient_parsing:
        click.echo(version_line())
        ctx.exit(0)


root_option = click.option(
    "--root", type=click.Path(file_okay=False, path_type=Path), default=None,
    help=("Project root holding gemma-gitops.toml and values/. Default: the nearest directory at or above"
          " the working directory that holds both."))


@click.group(cls=Cli, context_settings={"help_option_names": ["-h", "--help"]}, epilog=EXIT_CODES)
@click.option("--version", is_flag=True, expose_value=False, is_eager=True, callback=print_version,
              help="Print the version and the llama.cpp build it deploys, then exit.")
@root_option
@click.pass_context
def cli(ctx: click.Context, root: Path | None) -> None:
    """Render a self-hosted llama.cpp API deployment into plain Kubernetes YAML for Argo CD."""
    ctx.obj = Invocation(root)


for command in (*init.COMMANDS, *render.COMMANDS, *template.COMMANDS, *validate.COMMANDS, *budget.COMMANDS,
                *diff.COMMANDS, *completion.COMMANDS):
    cli.add_command(command)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="gemma-gitops")
