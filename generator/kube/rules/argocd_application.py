"""argocd-application: an Argo CD Application's source path exists and its destination namespace matches.

For each `argoproj.io` Application (and the Application template of each ApplicationSet, under
`spec.template`), every source with a `path` (`spec.source`, or each of
`spec.sources`; Helm chart sources are not checked) must name a directory under the project
root, and every resource at that path (recursively only when `directory.recurse` is true,
as Argo CD reads it) must either have no `metadata.namespace` (it then lands in the
destination namespace) or have `spec.destination.namespace` as its namespace.

Pass::

    kind: Application
    spec:
      source: {path: rendered/prod}
      destination: {namespace: gemma}
    # and rendered/prod/* have namespace gemma, or none

Fail (`$.spec.source.path: 'rendered/prd' does not exist under the project root`)::

    spec:
      source: {path: rendered/prd}
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from generator.kube.rules.base import (
    Path_,
    Scope,
    as_dict,
    as_list,
    dig,
    finding,
    jpath,
)
from generator.manifest import Manifest
from generator.problems import Problem

ID = "argocd-application"


# Where each kind keeps an Application spec.
SPECS: dict[str, tuple[str, ...]] = {"Application": ("spec",), "ApplicationSet": ("spec", "template", "spec")}


def check(scope: Scope) -> Iterator[Problem]:
    """Report missing source paths and resources outside the destination namespace."""
    for kind, base in SPECS.items():
        for app in scope.of_kind(kind, "argoproj.io"):
            destination = dig(app.doc, *base, "destination", "namespace")
            for path, source in sources(app, base):
                yield from _check_source(scope, app, path, source, destination, base)


def sources(app: Manifest, base: tuple[str, ...] = ("spec",)) -> Iterator[tuple[Path_, Mapping[str, Any]]]:
    """(path, source) of every source that names a directory in a repository."""
    spec = as_dict(dig(app.doc, *base))
    if "source" in spec:
        candidates: list[tuple[Path_, Any]] = [((*base, "source"), spec["source"])]
    else:
        candidates = [((*base, "sources", i), s) for i, s in enumerate(as_list(spec.get("sources")))]
    for path, source in candidates:
        source = as_dict(source)
        if isinstance(source.get("path"), str) and "chart" not in source:
            yield path, source


def _check_source(
    scope: Scope, app: Manifest, path: Path_, source: Mapping[str, Any], destination: Any, base: tuple[str, ...] = ("spec",)
) -> Iterator[Problem]:
    """Findings for one source: a path that is not a directory, or namespace mismatches."""
    directory = resolve_inside(scope.root, source["path"])
    if directory is None or not scope.is_dir(directory):
        message = f"{source['path']!r} does not exist under the project root (run the render first?)"
        yield finding(app, jpath(*path, "path"), message)
        return
    if not isinstance(destination, str):
        return
    recurse = dig(source, "directory", "recurse") is True
    for namespace, found in sorted(foreign_namespaces(scope.resources_at(directory, recurse), destination).items()):
        first = found[0]
        message = (
            f"{destination!r} does not match namespace {namespace!r} of {len(found)} resource(s) at"
            f" {source['path']} (first: {first.identity.describe()} in {first.label})"
        )
        yield finding(app, jpath(*base, "destination", "namespace"), message)


def foreign_namespaces(resources: Iterable[Manifest], destination: str) -> dict[str, list[Manifest]]:
    """The resources that set a namespace other than the destination, by that namespace."""
    found: dict[str, list[Manifest]] = {}
    for resource in resources:
        namespace = resource.identity.namespace
        if namespace and namespace != destination:
            found.setdefault(namespace, []).append(resource)
    return found


def resolve_inside(root: Path, relative: str) -> Path | None:
    """The directory a source path names, or None when it would leave the project root."""
    candidate = (root / relative).resolve()
    return candidate if candidate.is_relative_to(root.resolve()) else None
