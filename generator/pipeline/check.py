"""check: the gate, in one process: render in memory, compare with the disk, validate what was rendered."""

from __future__ import annotations

from collections.abc import Mapping

from .. import tree
from ..errors import EXIT_FAILED, EXIT_OK
from ..kube.check import validate_manifests
from ..kube.config import ValidateOptions, resolve_options
from ..kube.output import format_text
from ..plan import Plan
from ..settings import RENDERED_DIR, Settings
from . import Echo, session
from .render import hand_written, render_all, report_warnings, summary


def run_check(settings: Settings, echo: Echo, warn: Echo, environ: Mapping[str, str] | None = None) -> int:
    """Render in memory, compare with the disk (a diff on any difference), then validate the rendered
    manifests as `validate` would, without reading back a file; exit 1 on either."""
    with session(settings, "check"):
        rendered = render_all(settings)
        options = check_options(settings, rendered.plans, environ or {})  # bad options stop it before any output
        report_warnings(rendered, warn)
        tree.refuse_foreign(settings.root, rendered.tree)
        desired, actual = rendered.tree, tree.owned_on_disk(settings.root, rendered.scopes)
    drift = tree.compare(desired, actual)
    if drift:
        echo(tree.unified_diff(desired, actual, drift).rstrip("\n"))
        for problem in hand_written(drift.removed, actual):
            echo(str(problem))
        echo(f"out of date: {summary(drift)}. Run: make render")
    else:
        echo(f"in sync: {len(desired)} files for {len(rendered.plans)} environment(s)")
    report = validate_manifests(rendered.manifests, options)
    echo(format_text(report).rstrip("\n"))
    return EXIT_FAILED if drift or report.failed else EXIT_OK


def check_options(settings: Settings, plans: tuple[Plan, ...], environ: Mapping[str, str]) -> ValidateOptions:
    """`validate`'s options for a render: project config and environment as `validate` reads them, and each
    environment's Kubernetes versions from its plan."""
    versions = {f"{RENDERED_DIR}/{plan.env}": plan.spec.kubernetes_versions for plan in plans}
    return resolve_options(settings.root, environ=environ, values_versions=versions)
