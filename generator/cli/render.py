"""`render` and `check`: write the rendered tree, or compare it with the disk."""

from __future__ import annotations

import os

import click

from .. import pipeline
from .options import envs_argument, settings, warn


@click.command()
@envs_argument
@click.pass_context
def render(ctx: click.Context, envs: tuple[str, ...]) -> None:
    """Render ENVS (default: every values/<env>.yaml) to rendered/<env>/ and argocd/<env>.yaml.

    Exit codes: 0 rendered; 1 a deployment cannot run as configured; 2 bad values or options.
    """
    ctx.exit(pipeline.run_render(settings(ctx, envs), click.echo, warn))


@click.command()
@envs_argument
@click.pass_context
def check(ctx: click.Context, envs: tuple[str, ...]) -> None:
    """Exit 1 with a diff when rendered/ or argocd/ differ from a fresh render of ENVS, or when what it
    renders fails validation (the checks of `validate`, on the render in memory): the gate CI runs.

    Exit codes: 0 in sync and valid; 1 out of date, invalid or cannot run as configured; 2 bad values or options.
    """
    ctx.exit(pipeline.run_check(settings(ctx, envs), click.echo, warn, os.environ))


COMMANDS = (render, check)
