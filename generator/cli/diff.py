"""`diff`: what the working tree changes in the deployment, resource by resource, against a git ref."""

from __future__ import annotations

from typing import IO

import click

from .options import envs_argument, output_option, override_options, overrides_of, settings


@click.command("diff")
@click.option("--base", "base_ref", metavar="REF", default=None,
              help="Git ref to compare with. Default: the merge base of HEAD and main (or origin/main), else HEAD.")
@output_option("text", "markdown")
@override_options
@envs_argument
@click.pass_context
def diff(ctx: click.Context, base_ref: str | None, output: str, values_files: tuple[IO[str], ...],
         sets: tuple[str, ...], envs: tuple[str, ...]) -> None:
    """Show what the working tree changes in the deployment of ENVS (default: all), resource by resource.

    -f and --set apply to the working tree's side only: what the change would do, before making it.

    Exit codes: 0 compared (whatever changed: `check` is the gate); 1 the base could not be rendered;
    2 bad values, overrides, options or git ref.
    """
    from ..diff import DiffOptions, run_diff  # git and the diff stages, for this command only

    project = settings(ctx, envs, overrides_of(values_files, sets))
    ctx.exit(run_diff(DiffOptions(project, base_ref, output), click.echo))


COMMANDS = (diff,)
