"""`diff`: what the working tree changes in the deployment, resource by resource, against a git ref."""

from __future__ import annotations

import click

from .options import envs_argument, output_option, settings


@click.command("diff")
@click.option("--base", "base_ref", metavar="REF", default=None,
              help="Git ref to compare with. Default: the merge base of HEAD and main (or origin/main), else HEAD.")
@output_option("text", "markdown")
@envs_argument
@click.pass_context
def diff(ctx: click.Context, base_ref: str | None, output: str, envs: tuple[str, ...]) -> None:
    """Show what the working tree changes in the deployment of ENVS (default: all), resource by resource.

    Exit codes: 0 compared (whatever changed: `check` is the gate); 1 the base could not be rendered;
    2 bad values, options or git ref.
    """
    from ..diff import DiffOptions, run_diff  # git and the diff stages, for this command only

    ctx.exit(run_diff(DiffOptions(settings(ctx, envs), base_ref, output), click.echo))


COMMANDS = (diff,)
