"""`init`: start a deployment repository, or see and apply what a newer gemma-gitops changes in one."""

from __future__ import annotations

import json
from pathlib import Path

import click
from click.core import ParameterSource

from ..capacity.catalog import CATALOG
from ..kube.config import normalize_version
from ..settings import PACKAGED_SCHEMA
from ..valuefiles import ENV_NAME
from .options import warn

ANSWERS = ("env", "hostname", "repo_url", "namespace", "kubernetes_versions", "model")
MODELS = {entry.alias: entry for entry in CATALOG}


def default_kubernetes_versions() -> tuple[str, ...]:
    """The values' own default: the schema's `kubernetesVersions`."""
    schema = json.loads(PACKAGED_SCHEMA.read_text(encoding="utf-8"))
    return tuple(schema["properties"]["kubernetesVersions"]["default"])


def env_name(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """The first environment's name: it names a values file, a directory and an Application."""
    if not ENV_NAME.match(value):
        raise click.BadParameter(f"{value!r} must be a lowercase RFC 1123 label, such as prod")
    return value


@click.command("init")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path), default=Path("."))
@click.option("--env", default="prod", show_default=True, callback=env_name, help="The first environment's name.")
@click.option("--hostname", default="gemma.example.com", show_default=True, help="Where the API is served (HTTPS).")
@click.option("--repo-url", default="https://github.com/example/gemma-deploy.git", show_default=True,
              help="The git repository Argo CD syncs this project from.")
@click.option("--namespace", default="gemma", show_default=True, help="The namespace the deployment runs in.")
@click.option("--kubernetes-version", "kubernetes_versions", multiple=True, metavar="X.Y",
              help="A Kubernetes minor to validate against; repeatable (default: the schema's default).")
@click.option("--model", type=click.Choice(sorted(MODELS)), default="gemma-3-1b-it", show_default=True,
              help="A model of the catalog (`budget` knows its memory exactly).")
@click.option("--force", is_flag=True,
              help="Start a project in a non-empty directory: add the missing files, keep every file already there.")
@click.option("--upgrade", is_flag=True, help="In a project: write the managed files this version changes, then render.")
@click.pass_context
def init(ctx: click.Context, directory: Path, env: str, hostname: str, repo_url: str, namespace: str,
         kubernetes_versions: tuple[str, ...], model: str, force: bool, upgrade: bool) -> None:
    """Start a deployment repository in DIRECTORY (default: here), or show what this version changes in one.

    In a new project: gemma-gitops.toml, values/, a Makefile, a pre-commit config, a CI workflow, a
    README and .gitignore, then rendered/, argocd/, docs/ and schemas/. In an existing project: what
    this version would change in its managed files and rendered files; --upgrade writes it.

    Exit codes: 0 created, upgraded, or up to date; 1 an existing project that this version would
    change (without --upgrade), or seed values that cannot run; 2 bad answers or options, or a
    non-empty directory without --force.
    """
    from ..init import InitOptions, run_init  # the whole render stack, for this command only (see cli/render.py)
    from ..scaffold import Answers

    answers = Answers(env, hostname, repo_url, namespace,
                      tuple(dict.fromkeys(normalize_version(v) for v in kubernetes_versions))
                      or default_kubernetes_versions(), MODELS[model])
    answered = any(ctx.get_parameter_source(name) is ParameterSource.COMMANDLINE for name in ANSWERS)
    options = InitOptions(directory, answers, force=force, upgrade=upgrade, answered=answered)
    ctx.exit(run_init(options, click.echo, warn))


COMMANDS = (init,)
