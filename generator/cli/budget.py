"""`budget` and `inspect`: llama-server's memory, and a GGUF file's geometry."""

from __future__ import annotations

from pathlib import Path
from typing import IO

import click

from .options import envs_argument, output_option, override_options, overrides_of, settings


@click.command("budget")
@envs_argument
@override_options
@output_option("text", "json")
@click.pass_context
def budget(ctx: click.Context, envs: tuple[str, ...], values_files: tuple[IO[str], ...], sets: tuple[str, ...],
           output: str) -> None:
    """Predict llama-server's memory for ENVS (default: all) and check it against the container's limit.

    Try a change before making it: `budget prod --set llama.contextSize=8192`.

    Exit codes: 0 every environment fits; 1 one does not; 2 bad values, overrides or options.
    """
    from ..pipeline.budget import run_budget  # see cli/render.py for why here

    ctx.exit(run_budget(settings(ctx, envs, overrides_of(values_files, sets)), output, click.echo))


@click.command("inspect")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.pass_context
def inspect(ctx: click.Context, file: Path) -> None:
    """Print the geometry of FILE.gguf as YAML to paste under `model.geometry:` in a values file.

    Exit codes: 0 printed; 2 not a GGUF file this tool can read.
    """
    from ..pipeline.inspect import run_inspect

    ctx.exit(run_inspect(file, click.echo))


COMMANDS = (budget, inspect)
