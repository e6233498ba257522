"""`template`: one environment's manifests on stdout, `helm template`'s way; nothing is written."""

from __future__ import annotations

from typing import IO

import click

from .options import env_argument, output_option, override_options, overrides_of, settings, warn


@click.command("template")
@env_argument
@override_options
@output_option("yaml", "json")
@click.pass_context
def template(ctx: click.Context, env: str, values_files: tuple[IO[str], ...], sets: tuple[str, ...],
             output: str) -> None:
    """Print the manifests of ENV, exactly what `render` writes to rendered/ENV/, and write nothing.

    yaml: the files of rendered/ENV/ one after the other, in name order (each is its header comment,
    `---` and one document); json: one v1 List.
    Warnings go to stderr, so stdout is only manifests (what Argo CD's plugin reads).

    Exit codes: 0 printed; 1 the deployment cannot run as configured; 2 bad values, overrides or options.
    """
    project = settings(ctx, (env,), overrides_of(values_files, sets))
    from ..pipeline.render import run_template  # see cli/render.py for why here

    ctx.exit(run_template(project, output, click.echo, warn))


COMMANDS = (template,)
