"""`gemma-gitops validate`: the click layer only; options → ValidateOptions → validate_paths → exit code.

A GeneratorError (bad template, missing path, bad config) propagates to the CLI's single
error handler (`generator.cli.main`), which prints it and exits 2.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from generator.errors import EXIT_FAILED, EXIT_OK, GeneratorError
from generator.kube.check import validate_paths
from generator.kube.config import (
    DEFAULT_KUBERNETES_VERSIONS,
    ENV_SCHEMA_LOCATIONS,
    SKIPPABLE,
    resolve_options,
)
from generator.kube.output import format_json, format_text
from generator.kube.report import Report
from generator.pipeline import load_environments
from generator.settings import RENDERED_DIR, Settings

DEFAULT_DIRS = ("rendered", "argocd")


def root_of(obj: Any) -> Path:
    """The project root from the group's settings object, or the working directory without one."""
    root = getattr(obj, "root", None)
    return Path(root) if root is not None else Path.cwd()


def default_paths(root: Path) -> list[Path]:
    """rendered/ and argocd/ under the root; both must exist, so a missing render is noticed."""
    paths = [root / name for name in DEFAULT_DIRS]
    missing = [p.name + "/" for p in paths if not p.is_dir()]
    if missing:
        raise GeneratorError(f"nothing to validate: {', '.join(missing)} not found under {root} (run: make render)")
    return paths


def versions_from_values(root: Path) -> dict[str, tuple[str, ...]]:
    """`rendered/<env>` → the Kubernetes versions that environment's values name."""
    settings = Settings(root=root)
    if not settings.values_dir.is_dir():
        return {}
    return {f"{RENDERED_DIR}/{env.name}": tuple(env.values["kubernetesVersions"])
            for env in load_environments(settings)}


def exit_code(report: Report) -> int:
    """1 when anything failed, else 0."""
    return EXIT_FAILED if report.failed else EXIT_OK


@click.command("validate")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--schema-location",
    "schema_locations",
    multiple=True,
    metavar="TEMPLATE",
    help=(
        "Where CRD schemas are: a directory in the CRDs-catalog layout, or a path/URL template with"
        " {{.Group}}, {{.ResourceKind}}, {{.ResourceAPIVersion}}, ... (kubeconform syntax);"
        f" repeatable, tried in order; 'default' adds the defaults. Env: {ENV_SCHEMA_LOCATIONS}."
    ),
)
@click.option(
    "--kubernetes-version",
    "kubernetes_versions",
    multiple=True,
    metavar="X.Y",
    help=(
        "Validate core kinds against this Kubernetes minor; repeatable"
        f" (default: {', '.join(DEFAULT_KUBERNETES_VERSIONS)})."
    ),
)
@click.option(
    "--ignore-kind", "ignore_kinds", multiple=True, metavar="KIND", help="Skip (and report) a kind or apiVersion/Kind."
)
@click.option("--cache-dir", type=click.Path(path_type=Path), help="Where downloaded schemas are cached.")
@click.option("--output", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option(
    "--skip",
    "skip",
    multiple=True,
    metavar="CHECKS",
    help=f"Turn checks off: a comma-separated list of {', '.join(SKIPPABLE)} (repeatable).",
)
@click.option(
    "--kubeconform", "use_kubeconform", is_flag=True, help="Also run kubeconform, if on PATH, and show its verdict."
)
@click.pass_context
def validate_command(
    ctx: click.Context,
    paths: tuple[Path, ...],
    schema_locations: tuple[str, ...],
    kubernetes_versions: tuple[str, ...],
    ignore_kinds: tuple[str, ...],
    cache_dir: Path | None,
    output_format: str,
    use_kubeconform: bool,
    skip: tuple[str, ...],
) -> None:
    """Validate rendered manifests and Argo CD Applications offline (schemas and cross-resource rules)."""
    root = root_of(ctx.obj)
    options = resolve_options(
        root,
        schema_locations=schema_locations,
        kubernetes_versions=kubernetes_versions,
        ignore_kinds=ignore_kinds,
        cache_dir=cache_dir,
        kubeconform=use_kubeconform,
        environ=os.environ,
        values_versions=versions_from_values(root),
        skip=skip,
    )
    report = validate_paths(list(paths) or default_paths(root), options)
    click.echo(format_json(report) if output_format == "json" else format_text(report), nl=False)
    ctx.exit(exit_code(report))
