"""What every command shares: the settings from the group, environment arguments, and --output."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any, TypeVar

import click

from ..settings import Settings

F = TypeVar("F", bound=Callable[..., Any])

# The one output-format registry: every command with --output picks its formats from here.
FORMATS: dict[str, str] = {
    "text": "for a terminal",
    "json": "one JSON document, for scripts",
    "markdown": "for a pull-request comment or a GitHub job summary",
}

envs_argument = click.argument("envs", nargs=-1)


def output_option(*formats: str) -> Callable[[F], F]:
    """`--output` with the given formats of the registry; the first is the default."""
    unknown = set(formats) - set(FORMATS)
    if unknown:
        raise ValueError(f"no such output format: {', '.join(sorted(unknown))}")
    described = "; ".join(f"{name} {FORMATS[name]}" for name in formats)
    return click.option("--output", type=click.Choice(formats), default=formats[0], show_default=True,
                        help=f"Output format: {described}.")


def settings(ctx: click.Context, envs: tuple[str, ...] = ()) -> Settings:
    """The group's settings, narrowed to ENVS (each once, in the order given)."""
    base = ctx.find_object(Settings)
    if base is None:
        raise click.UsageError("run this command through the gemma-gitops command group")
    return replace(base, envs=tuple(dict.fromkeys(envs)))


def warn(line: str) -> None:
    """A warning goes to stderr."""
    click.echo(line, err=True)
