"""The command line: click options → Settings → a pipeline function → exit code."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from . import keys
from .errors import GeneratorError
from .pipeline import run_check, run_render
from .settings import Settings

root_option = click.option(
    "--root", type=click.Path(file_okay=False, path_type=Path), default=Path("."), show_default=True,
    help="Project root holding values/, schemas/, rendered/ and argocd/.")


class Cli(click.Group):
    """The command group; the one place a GeneratorError becomes a message and an exit code."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except GeneratorError as err:
            for line in err.lines():
                click.echo(line if line.startswith("  ") else f"error: {line}", err=True)
            ctx.exit(err.exit_code)


@click.group(cls=Cli, context_settings={"help_option_names": ["-h", "--help"]})
@root_option
@click.pass_context
def cli(ctx: click.Context, root: Path) -> None:
    """Render a self-hosted llama.cpp API deployment into plain Kubernetes YAML for Argo CD."""
    ctx.obj = Settings(root=root.resolve())


def _warn(line: str) -> None:
    click.echo(line, err=True)


def _settings(ctx: click.Context, envs: tuple[str, ...]) -> Settings:
    base: Settings = ctx.obj
    return Settings(root=base.root, envs=tuple(dict.fromkeys(envs)))


@cli.command()
@click.argument("envs", nargs=-1)
@click.pass_context
def render(ctx: click.Context, envs: tuple[str, ...]) -> None:
    """Render ENVS (default: every values/<env>.yaml) to rendered/<env>/ and argocd/<env>.yaml."""
    ctx.exit(run_render(_settings(ctx, envs), click.echo, _warn))


@cli.command()
@click.argument("envs", nargs=-1)
@click.pass_context
def check(ctx: click.Context, envs: tuple[str, ...]) -> None:
    """Exit 1 with a diff when rendered/ or argocd/ differ from a fresh render of ENVS."""
    ctx.exit(run_check(_settings(ctx, envs), click.echo, _warn))


@cli.command("hash-key")
def hash_key() -> None:
    """Read an API key from standard input; print the key-file line that accepts it without holding it.

    The line (`sha256:<salt>:<digest>`) goes to standard output, for the vault entry behind the key
    Secret; the key's identity in the proxy's access log goes to standard error. The key is read from
    standard input only, never from the command line (which other users and shell history can see).
    """
    text = sys.stdin.read()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) != 1:
        raise GeneratorError(f"expected one key on standard input, got {len(lines)} non-empty lines")
    try:
        line = keys.hash_line(lines[0], keys.new_salt())
    except keys.InvalidKey as err:
        raise GeneratorError(f"not a usable key: {err}") from err
    click.echo(line)
    click.echo(f"key id: {keys.key_id(lines[0])}", err=True)


from .capacity.command import budget_command, inspect_command  # noqa: E402
from .diff import diff_command  # noqa: E402  (commands of other stages register here)
from .kube.command import validate_command  # noqa: E402

cli.add_command(diff_command, "diff")
cli.add_command(validate_command)
cli.add_command(budget_command)
cli.add_command(inspect_command)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="gemma-gitops")
