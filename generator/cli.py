"""The command line: click options → Settings → a pipeline function → exit code."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .errors import GeneratorError
from .pipeline import run_check, run_render
from .settings import Settings

root_option = click.option(
    "--root", type=click.Path(file_okay=False, path_type=Path), default=Path("."), show_default=True,
    help="Project root holding values/, schemas/, rendered/ and argocd/.")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@root_option
@click.pass_context
def cli(ctx: click.Context, root: Path) -> None:
    """Render a self-hosted llama.cpp API deployment into plain Kubernetes YAML for Argo CD."""
    ctx.obj = Settings(root=root.resolve())


def _settings(ctx: click.Context, envs: tuple[str, ...]) -> Settings:
    base: Settings = ctx.obj
    return Settings(root=base.root, envs=tuple(dict.fromkeys(envs)))


@cli.command()
@click.argument("envs", nargs=-1)
@click.pass_context
def render(ctx: click.Context, envs: tuple[str, ...]) -> None:
    """Render ENVS (default: every values/<env>.yaml) to rendered/<env>/ and argocd/<env>.yaml."""
    ctx.exit(run_render(_settings(ctx, envs), click.echo))


@cli.command()
@click.argument("envs", nargs=-1)
@click.pass_context
def check(ctx: click.Context, envs: tuple[str, ...]) -> None:
    """Exit 1 with a diff when rendered/ or argocd/ differ from a fresh render of ENVS."""
    ctx.exit(run_check(_settings(ctx, envs), click.echo))


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; the one place a GeneratorError becomes a message and an exit code."""
    try:
        code = cli.main(args=argv, prog_name="gemma-gitops", standalone_mode=False)
    except GeneratorError as err:
        for line in err.lines():
            click.echo(f"error: {line}" if not line.startswith("  ") else line, err=True)
        return err.exit_code
    except click.ClickException as err:
        err.show()
        return err.exit_code
    except click.Abort:
        click.echo("aborted", err=True)
        return 130
    return code if isinstance(code, int) else 0


if __name__ == "__main__":
    sys.exit(main())
