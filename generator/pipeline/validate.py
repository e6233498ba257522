"""validate: manifests on disk, offline, kubeconform's way; reads values only for their Kubernetes versions."""

from __future__ import annotations

from pathlib import Path

from ..errors import EXIT_FAILED, EXIT_OK, GeneratorError
from ..kube.check import validate_paths
from ..kube.config import ValidateOptions
from ..kube.output import format_json, format_text
from ..settings import ARGOCD_DIR, RENDERED_DIR, Settings
from ..valuefiles import kubernetes_versions
from . import Echo, session


def run_validate(settings: Settings, paths: list[Path], options: ValidateOptions, output: str, echo: Echo) -> int:
    """Validate manifests offline; the report as text or JSON; exit 1 when anything failed."""
    with session(settings, "validate"):
        report = validate_paths(paths or default_paths(settings.root), options)
    echo((format_json(report) if output == "json" else format_text(report)).rstrip("\n"))
    return EXIT_FAILED if report.failed else EXIT_OK


def default_paths(root: Path) -> list[Path]:
    """rendered/ and argocd/ under the root; both must exist, so a missing render is noticed."""
    paths = [root / name for name in (RENDERED_DIR, ARGOCD_DIR)]
    missing = [p.name + "/" for p in paths if not p.is_dir()]
    if missing:
        raise GeneratorError(f"nothing to validate: {', '.join(missing)} not found under {root} (run: make render)")
    return paths


def scope_versions(settings: Settings) -> dict[str, tuple[str, ...]]:
    """`rendered/<env>` → the Kubernetes versions that environment's values name (read leniently)."""
    return {f"{RENDERED_DIR}/{env}": versions for env, versions in kubernetes_versions(settings).items()}
