"""`gemma-gitops budget [ENV...]` and `gemma-gitops inspect FILE.gguf`: thin click layers over plain functions."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click

from ..errors import EXIT_FAILED, EXIT_OK
from ..pipeline import load_environments
from ..settings import Settings
from ..values import Environment
from .gguf_header import geometry_yaml, read_gguf
from .guards import check_values, dig
from .report import EnvironmentBudget, summary, text, to_json

Echo = Callable[[str], None]


def model_label(values: dict[str, object]) -> str:
    """`gemma-3-1b-it (ggml-org/gemma-3-1b-it-GGUF/gemma-3-1b-it-Q4_K_M.gguf)`."""
    alias, repo, name = dig(values, "model.alias", "?"), dig(values, "model.hfRepo", "?"), dig(values, "model.hfFile", "?")
    return f"{alias} ({repo}/{name})"


def budget_of(env: Environment) -> EnvironmentBudget:
    """Run the capacity guards over one loaded environment."""
    file = str(env.file)
    return EnvironmentBudget(env.name, file, model_label(env.values), check_values(env.values, file))


def run_budget(settings: Settings, output: str, echo: Echo) -> int:
    """Print every requested environment's budget; exit 1 when any of them has an error."""
    envs = [budget_of(env) for env in load_environments(settings)]
    if output == "json":
        echo(to_json(envs).rstrip("\n"))
    else:
        for env in envs:
            for line in text(env):
                echo(line)
        echo(summary(envs))
    return EXIT_FAILED if any(env.report.errors for env in envs) else EXIT_OK


def run_inspect(path: Path, echo: Echo) -> int:
    """Print the `model.geometry` block of a GGUF file."""
    echo(geometry_yaml(read_gguf(path)).rstrip("\n"))
    return EXIT_OK


def _settings(ctx: click.Context, envs: tuple[str, ...]) -> Settings:
    """The group's Settings (or the current directory's) narrowed to ENVS."""
    base = ctx.obj if isinstance(ctx.obj, Settings) else Settings(root=Path.cwd())
    return Settings(root=base.root, envs=tuple(dict.fromkeys(envs)))


@click.command("budget")
@click.argument("envs", nargs=-1)
@click.option("--output", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="A table and bar per environment, or one JSON document.")
@click.pass_context
def budget_command(ctx: click.Context, envs: tuple[str, ...], output: str) -> None:
    """Predict llama-server's memory for ENVS (default: all) and check it against the container's limit."""
    ctx.exit(run_budget(_settings(ctx, envs), output, click.echo))


@click.command("inspect")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.pass_context
def inspect_command(ctx: click.Context, file: Path) -> None:
    """Print the geometry of FILE.gguf as YAML to paste under `model.geometry:` in a values file."""
    ctx.exit(run_inspect(file, click.echo))
