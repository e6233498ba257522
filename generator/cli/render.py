"""`render` and `check`: write the rendered tree, or compare it with the disk."""

from __future__ import annotations

import os
from typing import IO

import click

from .options import envs_argument, override_options, overrides_of, settings, warn

# Each command imports its stages (generator/pipeline/<module>) when it runs, so a command pays only for
# the libraries it uses: start-up is most of a small run's time (see bench/).


@click.command()
@envs_argument
@override_options
@click.option("--values-not-in-git", is_flag=True,
              help=("Allow -f and --set: the written tree then reflects values that are not in values/, so"
                    " `check` will report it as out of date until they are."))
@click.pass_context
def render(ctx: click.Context, envs: tuple[str, ...], values_files: tuple[IO[str], ...], sets: tuple[str, ...],
           values_not_in_git: bool) -> None:
    """Render ENVS (default: every values/<env>.yaml) to rendered/<env>/ and argocd/<env>.yaml.

    ENV may also be given as its values file (values/staging.yaml).

    Exit codes: 0 rendered; 1 a deployment cannot run as configured; 2 bad values or options
    (including -f or --set without --values-not-in-git).
    """
    project = settings(ctx, envs, overrides_of(values_files, sets))
    from ..pipeline.render import run_render

    ctx.exit(run_render(project, click.echo, warn, values_not_in_git))


@click.command()
@envs_argument
@click.pass_context
def check(ctx: click.Context, envs: tuple[str, ...]) -> None:
    """Exit 1 with a diff when rendered/, argocd/, docs/ or schemas/ differ from a fresh render of ENVS, or
    when what it renders fails validation (the checks of `validate`, on the render in memory): the gate CI runs.

    Exit codes: 0 in sync and valid; 1 out of date, invalid or cannot run as configured; 2 bad values or options.
    """
    from ..pipeline.check import run_check

    ctx.exit(run_check(settings(ctx, envs), click.echo, warn, os.environ))


COMMANDS = (render, check)
