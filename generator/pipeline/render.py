"""render, check's render, template: plans → manifests and generated documents, held in memory or written."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .. import collisions, conflicts, docs, extras, kubeschemas, schemaviews, tree
from ..collisions import EnvironmentRender
from ..errors import EXIT_OK, GeneratorError, ValuesError
from ..manifest import Manifest
from ..plan import Plan, build_plan
from ..problems import Problem, warnings_of
from ..render import render_plan
from ..settings import ARGOCD_DIR, PACKAGED_SCHEMA, RENDERED_DIR, SCHEMA_FILE, SHARED_LAYER, VALUES_DIR, Settings
from ..values import environment_names, load_environment, load_schema, read_layer
from . import Echo, session
from .plans import guarded, load_plans


@dataclass(frozen=True)
class Rendered:
    """A fresh render held in memory, and the part of the disk it is responsible for."""

    plans: tuple[Plan, ...]
    manifests: tuple[Manifest, ...]
    documents: tuple[tuple[str, str], ...]  # (path, text) of generated docs
    scopes: tuple[str, ...]
    warnings: tuple[Problem, ...] = ()  # unacknowledged only: what was acknowledged is in the values, and `budget` lists it

    @property
    def tree(self) -> tree.Tree:
        return {**tree.from_manifests(self.manifests), **{p: t.encode("utf-8") for p, t in self.documents}}


def generated_documents(settings: Settings) -> tuple[tuple[str, str], ...]:
    """The files besides manifests a render keeps in sync: the values reference, the project's copy of the
    values schema (except in the tool's own repository, where schemas/ holds its source), and the
    schema's views for values/_shared.yaml and the environments over it."""
    schema = load_schema(settings)
    reference = (docs.DOCS_FILE, docs.render_markdown(schema))
    views = schemaviews.documents(schema, shared_layer(settings))
    if settings.is_tool_source:
        return (reference, *views)
    return (reference, (SCHEMA_FILE.as_posix(), PACKAGED_SCHEMA.read_text(encoding="utf-8")), *views)


def load_extras(plans: tuple[Plan, ...], settings: Settings) -> tuple[tuple[extras.Extra, ...], ...]:
    """Every environment's extra manifests; one values error (exit 2) for every one that cannot be read."""
    loaded: list[tuple[extras.Extra, ...]] = []
    problems: list[Problem] = []
    for plan in plans:
        try:
            loaded.append(extras.load(settings, plan.env))
        except ValuesError as err:
            loaded.append(())
            problems.extend(err.problems)
    if problems:
        files = sorted({p.file.split("#")[0] for p in problems})
        raise ValuesError(f"{', '.join(files)}: extra manifests cannot be read", tuple(problems))
    return tuple(loaded)


def check_extra_schemas(renders: tuple[EnvironmentRender, ...], settings: Settings) -> None:
    """The extra manifests against their schemas, for each environment's Kubernetes versions (exit 1 on a problem)."""
    items = [(extra, tuple(v for v in r.plan.spec.kubernetes_versions if v in kubeschemas.available_versions()))
             for r in renders for extra in r.extras]
    if items:  # only then the validator: a render without extras loads none (see __init__)
        from ..kube import sources
        from ..kube.config import resolve_options

        sources.check(items, resolve_options(settings.root))


def other_renders(settings: Settings, plans: tuple[Plan, ...]) -> tuple[EnvironmentRender, ...]:
    """The environments not requested, rendered for the collision check only; one that fails is its own render's to report."""
    if not settings.envs:
        return ()
    schema, requested, found = load_schema(settings), {plan.env for plan in plans}, []
    for name in environment_names(settings):
        if name not in requested:
            try:
                plan = build_plan(load_environment(name, settings, schema))
                found.append(EnvironmentRender(plan, tuple(render_plan(plan, settings.cache_dir)), extras.load(settings, name)))
            except GeneratorError:
                continue
    return tuple(found)


def shared_layer(settings: Settings) -> dict[str, Any]:
    """values/_shared.yaml's data ({} without one); it was read and validated with every environment."""
    path = settings.values_dir / SHARED_LAYER
    return read_layer(path, settings).data if path.is_file() else {}


def render_all(settings: Settings) -> Rendered:
    """Render the requested environments (all of them by default) into memory."""
    plans = load_plans(settings)
    conflicts.check(plans)
    loaded = load_extras(plans, settings)
    found = guarded(plans)
    renders = tuple(EnvironmentRender(plan, tuple(render_plan(plan, settings.cache_dir)), extra)
                    for plan, extra in zip(plans, loaded, strict=True))
    check_extra_schemas(renders, settings)
    collisions.check(renders, other_renders(settings, plans))
    documents = generated_documents(settings)
    manifests = tuple(m for r in renders for m in (*r.ours, *(e.manifest for e in r.extras)))
    scopes = (RENDERED_DIR, ARGOCD_DIR) if not settings.envs else tuple(
        scope for plan in plans for scope in (f"{RENDERED_DIR}/{plan.env}", f"{ARGOCD_DIR}/{plan.env}.yaml"))
    return Rendered(plans, manifests, documents, (*scopes, *(path for path, _ in documents)),
                    warnings_of(found))


def hand_written(removed: tuple[str, ...], actual: tree.Tree) -> list[Problem]:
    """Files under rendered/ that a render would delete and that we did not write (no generated header).
    A symlink or special file there is not a manifest anyone wrote: render removes it, unread."""
    return [Problem(path, "", f"not written by gemma-gitops, and no source renders it: keep hand-written manifests in "
                    f"{VALUES_DIR}/{path.split('/')[1]}/{extras.EXTRA_DIR}/ (rendered here with our header), or delete it",
                    rule="hand-written")
            for path in removed if path.startswith(f"{RENDERED_DIR}/") and actual[path] != tree.NOT_READ
            and tree.GENERATED_MARK not in actual[path].split(b"\n", 1)[0]]


def run_render(settings: Settings, echo: Echo, warn: Echo, values_not_in_git: bool = False) -> int:
    """Render and write all-or-nothing; only directories whose files change are swapped; a hand-written file
    is never deleted.

    Overrides (`--set`, `-f`) are refused unless `values_not_in_git`: the committed tree is what Argo
    CD applies, and it must follow from values that are in git too.
    """
    if settings.overrides and not values_not_in_git:
        raise GeneratorError(
            f"render: {', '.join(o.source for o in settings.overrides)} would write rendered/ from values that are "
            "not in values/ (and so not in git); put them in a values file, print the result with "
            "`gemma-gitops template`, or pass --values-not-in-git to write it anyway")
    with session(settings, "render", write=True):
        rendered = render_all(settings)
        report_warnings(rendered, warn)
        tree.refuse_foreign(settings.root, rendered.tree)
        actual = tree.owned_on_disk(settings.root, rendered.scopes)
        foreign = hand_written(tree.compare(rendered.tree, actual).removed, actual)
        if foreign:
            raise GeneratorError(f"render would delete {len(foreign)} file(s) that gemma-gitops did not write; "
                                 "nothing was written", tuple(foreign))
        drift = tree.write(settings.root, rendered.tree, actual, rendered.scopes)
    for plan in rendered.plans:
        count = sum(1 for m in rendered.manifests if m.path.startswith(f"{RENDERED_DIR}/{plan.env}/"))
        echo(f"rendered {plan.file} → {RENDERED_DIR}/{plan.env}/ ({count} resources) and {ARGOCD_DIR}/{plan.env}.yaml")
    echo(summary(drift) if drift else "no changes")
    return EXIT_OK


def run_template(settings: Settings, output: str, echo: Echo, warn: Echo) -> int:
    """Print one environment's manifests, what `render` writes to rendered/<env>/, to stdout; write nothing."""
    rendered = render_all(settings)
    report_warnings(rendered, warn)
    echo(stream(rendered.manifests, output).rstrip("\n"))
    return EXIT_OK


def stream(manifests: tuple[Manifest, ...], output: str) -> str:
    """The environments' resources (not their Applications) as `render` writes them, in file order.

    yaml: the files' exact bytes, one after the other. Each file is its header comment, then `---`
    and its one document, so the stream has exactly one document per file, and no empty one (the
    header comments of a file end the document before it, where YAML ignores them).
    json: a `v1` List, as `kubectl get -o json` prints several objects.
    """
    resources = [m for m in manifests if m.path.startswith(f"{RENDERED_DIR}/")]
    if output == "json":
        items = {"apiVersion": "v1", "kind": "List", "items": [m.doc for m in resources]}
        return json.dumps(items, indent=2, ensure_ascii=False) + "\n"
    return "".join(m.text for m in resources)


def report_warnings(rendered: Rendered, warn: Echo) -> None:
    """Print what deserves a look but does not stop the render.

    Acknowledged warnings stay silent: the team's reason sits beside them in the values file a
    reviewer reads, and `gemma-gitops budget` lists them; a line on every render would teach
    people to skim past stderr.
    """
    for problem in rendered.warnings:
        warn(f"warning: {problem}")


def summary(drift: tree.Drift) -> str:
    """`2 changed, 1 added, 1 removed`, naming the files."""
    parts = [f"{len(files)} {label} ({', '.join(files)})" for label, files in
             (("changed", drift.changed), ("added", drift.added), ("removed", drift.removed)) if files]
    return ", ".join(parts)
