"""The data path: values → manifests → tree → write or compare. Each command is a plain function."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from . import docs, tree
from .capacity.guards import CapacityReport, check_values, shared_volume_problems
from .errors import EXIT_FAILED, EXIT_OK, CheckFailed, Problem, ValuesError
from .manifest import Manifest
from .render import render_application, render_environment, timeouts, workload_kind
from .settings import ARGOCD_DIR, RENDERED_DIR, Settings
from .values import Environment, environment_names, load_environment, load_schema

Echo = Callable[[str], None]


@dataclass(frozen=True)
class Rendered:
    """A fresh render held in memory, and the part of the disk it is responsible for."""

    environments: tuple[Environment, ...]
    manifests: tuple[Manifest, ...]
    documents: tuple[tuple[str, str], ...]  # (path, text) of generated docs
    scopes: tuple[str, ...]
    warnings: tuple[Problem, ...] = ()

    @property
    def tree(self) -> tree.Tree:
        return {**tree.from_manifests(self.manifests), **{p: t.encode("utf-8") for p, t in self.documents}}


def load_environments(settings: Settings) -> tuple[Environment, ...]:
    """Load every requested environment, reporting the problems of all of them at once."""
    schema = load_schema(settings)
    envs: list[Environment] = []
    problems: list[Problem] = []
    failed: list[str] = []
    for name in settings.envs or environment_names(settings):
        try:
            envs.append(load_environment(name, settings, schema))
        except ValuesError as err:
            failed.append(err.message)
            problems.extend(err.problems or (Problem(name, "", err.message),))
    if failed:
        raise ValuesError("; ".join(failed), tuple(problems))
    if not envs:
        raise ValuesError(f"no environments: add a values file such as {settings.values_dir.name}/prod.yaml")
    return tuple(envs)


def plan_capacity(env: Environment) -> CapacityReport:
    """The memory budget and cross-field guards of one environment, over what will be rendered."""
    report = check_values(env.values, env.file, timeouts(env.values))
    shared = shared_volume_problems(env.values, env.file, workload_kind(env.values))
    return CapacityReport(report.errors + tuple(shared), report.warnings, report.budget, report.fit, report.startup)


def check_capacity(envs: tuple[Environment, ...]) -> tuple[Problem, ...]:
    """Every environment's warnings; every error of every environment raised at once (exit 1)."""
    reports = [plan_capacity(env) for env in envs]
    errors = tuple(p for r in reports for p in r.errors)
    if errors:
        failed = sorted({p.file for p in errors})
        raise CheckFailed(f"{', '.join(failed)}: the deployment cannot run as configured "
                          f"(see `gemma-gitops budget`)", errors)
    return tuple(p for r in reports for p in r.warnings)


def render_all(settings: Settings) -> Rendered:
    """Render the requested environments (all of them by default) into memory."""
    envs = load_environments(settings)
    warnings = check_capacity(envs)
    documents = ((docs.DOCS_FILE, docs.render_markdown(load_schema(settings))),)
    manifests: list[Manifest] = []
    for env in envs:
        manifests.extend(render_environment(env))
        manifests.append(render_application(env))
    scopes = (RENDERED_DIR, ARGOCD_DIR) if not settings.envs else tuple(
        scope for env in envs for scope in (f"{RENDERED_DIR}/{env.name}", f"{ARGOCD_DIR}/{env.name}.yaml"))
    return Rendered(envs, tuple(manifests), documents, (*scopes, docs.DOCS_FILE), warnings)


def run_render(settings: Settings, echo: Echo, warn: Echo | None = None) -> int:
    """Render and write atomically; only files whose bytes change are touched."""
    tree.recover(settings.root)
    rendered = render_all(settings)
    _warn(rendered, warn or echo)
    actual = tree.owned_on_disk(settings.root, rendered.scopes)
    drift = tree.write(settings.root, rendered.tree, actual)
    for env in rendered.environments:
        count = sum(1 for m in rendered.manifests if m.path.startswith(f"{RENDERED_DIR}/{env.name}/"))
        echo(f"rendered {env.file} → {RENDERED_DIR}/{env.name}/ ({count} resources) and {ARGOCD_DIR}/{env.name}.yaml")
    echo(_summary(drift) if drift else "no changes")
    return EXIT_OK


def run_check(settings: Settings, echo: Echo, warn: Echo | None = None) -> int:
    """The drift check: render in memory and compare with the disk; exit 1 with a diff on any difference."""
    rendered = render_all(settings)
    _warn(rendered, warn or echo)
    desired, actual = rendered.tree, tree.owned_on_disk(settings.root, rendered.scopes)
    drift = tree.compare(desired, actual)
    if not drift:
        echo(f"in sync: {len(desired)} files for {len(rendered.environments)} environment(s)")
        return EXIT_OK
    echo(tree.unified_diff(desired, actual, drift).rstrip("\n"))
    echo(f"out of date: {_summary(drift)}. Run: make render")
    return EXIT_FAILED


def _warn(rendered: Rendered, warn: Echo) -> None:
    """Print what deserves a look but does not stop the render."""
    for problem in rendered.warnings:
        warn(f"warning: {problem}")


def _summary(drift: tree.Drift) -> str:
    """`2 changed, 1 added, 1 removed`, naming the files."""
    parts = [f"{len(files)} {label} ({', '.join(files)})" for label, files in
             (("changed", drift.changed), ("added", drift.added), ("removed", drift.removed)) if files]
    return ", ".join(parts)
