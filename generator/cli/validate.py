"""`validate`: offline schema and cross-resource checks of manifests, kubeconform's way."""

from __future__ import annotations

import os
from pathlib import Path

import click

from ..kube.config import DEFAULT_KUBERNETES_VERSIONS, ENV_SCHEMA_LOCATIONS, SKIPPABLE, resolve_options
from .options import output_option, settings


@click.command("validate")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--schema-location", "schema_locations", multiple=True, metavar="TEMPLATE",
    help=("Where CRD schemas are: a directory in the CRDs-catalog layout, or a path/URL template with"
          " {{.Group}}, {{.ResourceKind}}, {{.ResourceAPIVersion}}, ... (kubeconform syntax);"
          " repeatable, tried in order; 'default' adds the defaults (the vendored schemas, then the cache),"
          f" 'catalog' the public CRDs-catalog online. Env: {ENV_SCHEMA_LOCATIONS}."))
@click.option(
    "--kubernetes-version", "kubernetes_versions", multiple=True, metavar="X.Y",
    help=("Validate core kinds against this Kubernetes minor; repeatable"
          f" (default: what each environment's values name, else {', '.join(DEFAULT_KUBERNETES_VERSIONS)})."))
@click.option("--ignore-kind", "ignore_kinds", multiple=True, metavar="KIND",
              help="Skip (and report) a kind or apiVersion/Kind.")
@click.option("--cache-dir", type=click.Path(path_type=Path), help="Where downloaded schemas are cached.")
@click.option("--skip", "skip", multiple=True, metavar="CHECKS",
              help=f"Turn checks off: comma-separated, repeatable, from {', '.join(SKIPPABLE)} "
                   "(CRD CEL rules, the API server's native checks of built-in kinds, our cross-resource rules).")
@output_option("text", "json")
@click.option("--kubeconform", "use_kubeconform", is_flag=True,
              help="Also run kubeconform, if on PATH, and show its verdict.")
@click.pass_context
def validate(ctx: click.Context, paths: tuple[Path, ...], schema_locations: tuple[str, ...],
             kubernetes_versions: tuple[str, ...], ignore_kinds: tuple[str, ...], cache_dir: Path | None,
             skip: tuple[str, ...], output: str, use_kubeconform: bool) -> None:
    """Validate rendered manifests and Argo CD Applications offline (schemas and cross-resource rules).

    Exit codes: 0 every resource is valid; 1 a resource is invalid or could not be checked; 2 bad options.
    """
    # The project found from the working directory, else the working directory itself: validate reads
    # only rendered/ and argocd/ (or PATHS), so it works outside a project too, as kubeconform does.
    from ..pipeline import validate as stages  # see cli/render.py for why here

    project = settings(ctx, required=False)
    options = resolve_options(
        project.root, schema_locations=schema_locations, kubernetes_versions=kubernetes_versions,
        ignore_kinds=ignore_kinds, cache_dir=cache_dir, kubeconform=use_kubeconform, skip=skip, environ=os.environ,
        values_versions=stages.scope_versions(project))
    ctx.exit(stages.run_validate(project, list(paths), options, output, click.echo))


COMMANDS = (validate,)
