"""The data path, one direction: values → plans → guards → manifests → (write | compare | budget).

Each command of the CLI is one plain function here that returns an exit code. Each imports the stages
it runs when it runs, so a command pays for no library it does not use: `validate` loads neither
Jinja2 nor the plan, `render` no schema validator, `inspect` no values stack (see bench/).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import EXIT_FAILED, EXIT_OK, CheckFailed, GeneratorError
from .manifest import Manifest
from .problems import Problem, acknowledged_of, errors_of, warnings_of
from .settings import ARGOCD_DIR, RENDERED_DIR, Settings

if TYPE_CHECKING:
    from . import tree
    from .capacity.report import EnvironmentBudget
    from .kube.config import ValidateOptions
    from .plan import Plan

Echo = Callable[[str], None]


@dataclass(frozen=True)
class Rendered:
    """A fresh render held in memory, and the part of the disk it is responsible for."""

    plans: tuple[Plan, ...]
    manifests: tuple[Manifest, ...]
    documents: tuple[tuple[str, str], ...]  # (path, text) of generated docs
    scopes: tuple[str, ...]
    warnings: tuple[Problem, ...] = ()
    acknowledged: tuple[Problem, ...] = ()

    @property
    def tree(self) -> tree.Tree:
        from .tree import from_manifests

        return {**from_manifests(self.manifests), **{p: t.encode("utf-8") for p, t in self.documents}}


def load_plans(settings: Settings) -> tuple[Plan, ...]:
    """The plan of every requested environment (all of them by default)."""
    from .plan import build_plan
    from .values import load_all

    return tuple(build_plan(values) for values in load_all(settings))


def guarded(plans: tuple[Plan, ...]) -> tuple[Problem, ...]:
    """Every plan's guard warnings and acknowledged warnings; every error of every plan raised at once (exit 1)."""
    from . import guards

    problems = tuple(p for plan in plans for p in guards.run(plan))
    errors = errors_of(problems)
    if errors:
        failed = sorted({p.file for p in errors})
        raise CheckFailed(f"{', '.join(failed)}: the deployment cannot run as configured "
                          f"(see `gemma-gitops budget`)", errors)
    return (*warnings_of(problems), *acknowledged_of(problems))


def render_all(settings: Settings) -> Rendered:
    """Render the requested environments (all of them by default) into memory."""
    from . import docs
    from .render import render_plan
    from .values import load_schema

    plans = load_plans(settings)
    found = guarded(plans)
    documents = ((docs.DOCS_FILE, docs.render_markdown(load_schema(settings))),)
    manifests = tuple(m for plan in plans for m in render_plan(plan, settings.cache_dir))
    scopes = (RENDERED_DIR, ARGOCD_DIR) if not settings.envs else tuple(
        scope for plan in plans for scope in (f"{RENDERED_DIR}/{plan.env}", f"{ARGOCD_DIR}/{plan.env}.yaml"))
    return Rendered(plans, manifests, documents, (*scopes, docs.DOCS_FILE), warnings_of(found), acknowledged_of(found))


def run_render(settings: Settings, echo: Echo, warn: Echo) -> int:
    """Render and write atomically; only files whose bytes change are touched."""
    from . import tree

    tree.recover(settings.root)
    rendered = render_all(settings)
    _warn(rendered, warn)
    actual = tree.owned_on_disk(settings.root, rendered.scopes)
    drift = tree.write(settings.root, rendered.tree, actual)
    for plan in rendered.plans:
        count = sum(1 for m in rendered.manifests if m.path.startswith(f"{RENDERED_DIR}/{plan.env}/"))
        echo(f"rendered {plan.file} → {RENDERED_DIR}/{plan.env}/ ({count} resources) and {ARGOCD_DIR}/{plan.env}.yaml")
    echo(_summary(drift) if drift else "no changes")
    return EXIT_OK


def run_check(settings: Settings, echo: Echo, warn: Echo, environ: Mapping[str, str] | None = None) -> int:
    """The gate, in one process: render in memory, compare with the disk (a diff on any difference), then
    validate the rendered manifests as `validate` would, without reading back a file; exit 1 on either."""
    from . import tree
    from .kube.check import validate_manifests
    from .kube.output import format_text

    rendered = render_all(settings)
    options = check_options(settings, rendered.plans, environ or {})  # bad options stop it before any output
    _warn(rendered, warn)
    desired, actual = rendered.tree, tree.owned_on_disk(settings.root, rendered.scopes)
    drift = tree.compare(desired, actual)
    if drift:
        echo(tree.unified_diff(desired, actual, drift).rstrip("\n"))
        echo(f"out of date: {_summary(drift)}. Run: make render")
    else:
        echo(f"in sync: {len(desired)} files for {len(rendered.plans)} environment(s)")
    report = validate_manifests(rendered.manifests, options)
    echo(format_text(report).rstrip("\n"))
    return EXIT_FAILED if drift or report.failed else EXIT_OK


def check_options(settings: Settings, plans: tuple[Plan, ...], environ: Mapping[str, str]) -> ValidateOptions:
    """`validate`'s options for a render: project config and environment as `validate` reads them, and each
    environment's Kubernetes versions from its plan."""
    from .kube.config import resolve_options

    versions = {f"{RENDERED_DIR}/{plan.env}": plan.spec.kubernetes_versions for plan in plans}
    return resolve_options(settings.root, environ=environ, values_versions=versions)


def budget_of(plan: Plan) -> EnvironmentBudget:
    """One plan's budget as the `budget` command shows it, with the same guards render runs."""
    from . import guards
    from .capacity.report import EnvironmentBudget

    model = plan.spec.model
    capacity = plan.capacity
    return EnvironmentBudget(plan.env, plan.file, f"{model.alias} ({model.hf_repo}/{model.hf_file})",
                             capacity.budget if capacity else None, capacity.fit if capacity else None,
                             capacity.startup if capacity else None, guards.run(plan))


def run_budget(settings: Settings, output: str, echo: Echo) -> int:
    """Print every requested environment's budget; exit 1 when any of them has an error."""
    from .capacity.report import summary, text, to_json

    envs = [budget_of(plan) for plan in load_plans(settings)]
    if output == "json":
        echo(to_json(envs).rstrip("\n"))
    else:
        for env in envs:
            for line in text(env):
                echo(line)
        echo(summary(envs))
    return EXIT_FAILED if any(env.errors for env in envs) else EXIT_OK


def run_inspect(path: Path, echo: Echo) -> int:
    """Print the `model.geometry` block of a GGUF file."""
    from .capacity.gguf_header import geometry_yaml, read_gguf

    echo(geometry_yaml(read_gguf(path)).rstrip("\n"))
    return EXIT_OK


def _warn(rendered: Rendered, warn: Echo) -> None:
    """Print what deserves a look but does not stop the render; what the values acknowledge, in one line."""
    for problem in rendered.warnings:
        warn(f"warning: {problem}")
    if rendered.acknowledged:
        by_file: dict[str, list[str]] = {}
        for problem in rendered.acknowledged:
            by_file.setdefault(problem.file, []).append(problem.rule)
        listed = "; ".join(f"{file}: {', '.join(rules)}" for file, rules in by_file.items())
        warn(f"acknowledged {len(rendered.acknowledged)} warning(s), see `gemma-gitops budget`: {listed}")


def _summary(drift: tree.Drift) -> str:
    """`2 changed, 1 added, 1 removed`, naming the files."""
    parts = [f"{len(files)} {label} ({', '.join(files)})" for label, files in
             (("changed", drift.changed), ("added", drift.added), ("removed", drift.removed)) if files]
    return ", ".join(parts)


def run_validate(settings: Settings, paths: list[Path], options: ValidateOptions, output: str, echo: Echo) -> int:
    """Validate manifests offline; the report as text or JSON; exit 1 when anything failed."""
    from .kube.check import validate_paths
    from .kube.output import format_json, format_text

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
    from .values import kubernetes_versions

    return {f"{RENDERED_DIR}/{env}": versions for env, versions in kubernetes_versions(settings).items()}
