"""The command line: click options → Settings → a library function → exit code, for every command.

Commands live one module per concern in this package; each is a thin layer over a plain function
of the library. A GeneratorError becomes a message and its exit code here, in one place.
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from ..errors import GeneratorError
from ..settings import Settings, cache_home
from . import budget, diff, render, validate

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


root_option = click.option(
    "--root", type=click.Path(file_okay=False, path_type=Path), default=Path("."), show_default=True,
    help="Project root holding values/, schemas/, rendered/ and argocd/.")


@click.group(cls=Cli, context_settings={"help_option_names": ["-h", "--help"]}, epilog=EXIT_CODES)
@root_option
@click.pass_context
def cli(ctx: click.Context, root: Path) -> None:
    """Render a self-hosted llama.cpp API deployment into plain Kubernetes YAML for Argo CD."""
    ctx.obj = Settings(root=root.resolve(), cache_dir=cache_home(os.environ))


for command in (*render.COMMANDS, *validate.COMMANDS, *budget.COMMANDS, *diff.COMMANDS):
    cli.add_command(command)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="gemma-gitops")
