"""Wire the stages: group manifests into environments, validate them, apply rules, report.

One path for files and for a render held in memory: `validate_paths` reads files into LoadedFiles
and `validate_manifests` wraps rendered Manifests in them; both end in `validate_files`. Rules see
one environment at a time: each first-level directory under a given directory (`rendered/prod`,
`rendered/staging`) is one scope, files directly in it form another (`argocd/`). A file named on
its own belongs to its directory's scope.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import Protocol

from generator.errors import GeneratorError
from generator.kube import kubeconform
from generator.kube.config import ValidateOptions
from generator.kube.location import SchemaLocation, check_local, parse_location
from generator.kube.native import native_findings
from generator.kube.registry import Download, SchemaRegistry, download
from generator.kube.report import Report, Result, Status, worse
from generator.kube.resource import (
    LoadedFile,
    LoadFailure,
    display_path,
    load_file,
    manifest_files,
)
from generator.kube.rules import RULES, Scope
from generator.kube.validator import is_ignored, validate_resource
from generator.manifest import Manifest
from generator.problems import Problem


def build_locations(options: ValidateOptions) -> tuple[SchemaLocation, ...]:
    """Parse and check every schema location once, before any resource is read."""
    locations = tuple(parse_location(text, options.root) for text in options.schema_locations)
    for location in locations:
        check_local(location)
    return locations


@lru_cache(maxsize=8)
def shared_registry(locations: tuple[SchemaLocation, ...], cache_dir: Path | None, fetch: Download) -> SchemaRegistry:
    """One registry per configuration for the whole process, so schemas compile once."""
    return SchemaRegistry(locations, cache_dir, fetch)


def group_files(paths: Sequence[Path]) -> dict[Path, list[Path]]:
    """Manifest files by scope directory, each file once, in sorted order."""
    scopes: dict[Path, list[Path]] = {}
    for path in paths:
        for scope, file in _scoped_files(path):
            files = scopes.setdefault(scope, [])
            if file not in files:
                files.append(file)
    return {scope: sorted(files) for scope, files in sorted(scopes.items())}


def _scoped_files(path: Path) -> Iterable[tuple[Path, Path]]:
    """(scope directory, file) for every manifest file a path names."""
    if path.is_file():
        return [(path.parent.resolve(), path.resolve())]
    if not path.is_dir():
        raise GeneratorError(f"{path}: no such file or directory (run the render first?)")
    found = []
    for file in manifest_files(path):
        parts = file.relative_to(path).parts
        scope = path / parts[0] if len(parts) > 1 else path
        found.append((scope.resolve(), file.resolve()))
    return found


class Catalog(Protocol):
    """Where rules find resources outside their scope (an Application's source path)."""

    def resources_at(self, directory: Path, recurse: bool) -> tuple[Manifest, ...]:
        """Every resource in the manifest files of a directory (and below it, when `recurse`)."""
        ...

    def is_dir(self, directory: Path) -> bool:
        """Whether the directory exists."""
        ...


class DiskCatalog:
    """Manifest files on disk, each loaded once, for validation and for rules that look elsewhere."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._files: dict[Path, LoadedFile] = {}

    def load(self, path: Path) -> LoadedFile:
        """The loaded file, read on first use."""
        if path not in self._files:
            self._files[path] = load_file(path, self.root)
        return self._files[path]

    def resources_at(self, directory: Path, recurse: bool) -> tuple[Manifest, ...]:
        """Every resource in the manifest files of a directory."""
        return tuple(m for f in manifest_files(directory, recurse) for m in self.load(f.resolve()).manifests)

    def is_dir(self, directory: Path) -> bool:
        """Whether the directory exists on disk."""
        return directory.is_dir()


class MemoryCatalog:
    """Files held in memory (a render that is not written): what is not among them does not exist."""

    def __init__(self, files: Iterable[LoadedFile]) -> None:
        self._by_dir: dict[Path, list[LoadedFile]] = {}
        for file in sorted(files, key=lambda f: f.path):
            self._by_dir.setdefault(file.path.parent, []).append(file)

    def resources_at(self, directory: Path, recurse: bool) -> tuple[Manifest, ...]:
        """Every resource of the files in a directory (and below it), in path order."""
        folders = self._below(directory) if recurse else [directory]
        files = sorted((f for d in folders for f in self._by_dir.get(d, ())), key=lambda f: f.path)
        return tuple(m for f in files for m in f.manifests)

    def is_dir(self, directory: Path) -> bool:
        """Whether any file lies below the directory."""
        return bool(self._below(directory))

    def _below(self, directory: Path) -> list[Path]:
        """The directories holding files at or below a directory (paths compared as text: one Application
        per environment asks, and every environment is a directory)."""
        exact, prefix = directory.as_posix(), directory.as_posix().rstrip("/") + "/"
        return [d for d in self._by_dir if (text := d.as_posix()) == exact or text.startswith(prefix)]


def failure_result(failure: LoadFailure) -> Result:
    """An Error result for a document that could not be loaded."""
    return Result(failure.problem.file, None, Status.ERROR, (failure.problem,))


def apply_findings(results: list[Result], findings: Iterable[Problem]) -> list[Result]:
    """Results with each rule's problem added to its resource's result, which becomes Invalid."""
    extra: dict[str, list[Problem]] = {}
    for problem in findings:
        extra.setdefault(problem.file, []).append(problem)
    return [
        replace(r, status=worse(r.status, Status.INVALID), problems=r.problems + tuple(extra[r.label]))
        if r.label in extra
        else r
        for r in results
    ]


def run_rules(scope: Scope) -> list[Problem]:
    """Every rule's problems for one scope, each naming its rule."""
    return [replace(problem, rule=rule_id, detail=rule_id) for rule_id, rule in RULES.items() for problem in rule(scope)]


def check_scope(
    directory: Path, files: Sequence[LoadedFile], catalog: Catalog, registry: SchemaRegistry, options: ValidateOptions
) -> list[Result]:
    """Schema-validate every document of one scope, then apply the rules across them."""
    results: list[Result] = []
    resources: list[Manifest] = []
    name = display_path(directory, options.root)
    versions = options.scope_versions.get(name, options.kubernetes_versions)
    for loaded in files:
        items: list[Manifest | LoadFailure] = sorted([*loaded.manifests, *loaded.failures], key=lambda i: i.index)
        for item in items:
            if isinstance(item, LoadFailure):
                results.append(failure_result(item))
            else:
                resources.append(item)
                results.append(validate_resource(item, registry, versions, options.ignore_kinds, options.skip))
    scope = Scope(name, options.root, tuple(resources), catalog.resources_at, catalog.is_dir)
    found = [] if "rules" in options.skip else run_rules(scope)
    found += [] if "native" in options.skip else run_native(resources, versions, options.ignore_kinds)
    return apply_findings(results, found)


NATIVE_PREFIX = "native:"


def run_native(
    resources: Iterable[Manifest], versions: tuple[str, ...], ignore_kinds: frozenset[str]
) -> list[Problem]:
    """The API server's own checks of built-in kinds, at the oldest Kubernetes version the scope names."""
    oldest = min(versions, key=lambda v: tuple(int(p) for p in v.split(".")))
    return [
        Problem(resource.where, found.json_path, found.message, rule=NATIVE_PREFIX + found.check_id, detail=found.check_id)
        for resource in resources
        if not is_ignored(resource.identity, ignore_kinds)
        for found in native_findings(resource.doc, oldest)
    ]


def validate_files(
    scopes: Mapping[Path, Sequence[LoadedFile]], catalog: Catalog, options: ValidateOptions, registry: SchemaRegistry
) -> Report:
    """Validate files already read, scope by scope; problems are recorded in the Report, not raised."""
    results: list[Result] = []
    labels: list[str] = []
    for directory, files in scopes.items():
        labels.extend(f.label for f in files)
        results.extend(check_scope(directory, files, catalog, registry, options))
    return Report(tuple(results), tuple(labels), options.kubernetes_versions)


def validate_paths(paths: Sequence[Path], options: ValidateOptions, fetch: Download = download) -> Report:
    """Validate every manifest under the paths (and ask kubeconform too, when the options say so)."""
    locations = build_locations(options)  # a bad location fails before any file is read
    catalog = DiskCatalog(options.root)
    scopes = {directory: [catalog.load(file) for file in files] for directory, files in group_files(paths).items()}
    report = validate_files(scopes, catalog, options, shared_registry(locations, options.cache_dir, fetch))
    external = kubeconform.verdicts(paths, options, locations) if options.kubeconform else ()
    return replace(report, external=tuple(external))


def validate_manifests(manifests: Sequence[Manifest], options: ValidateOptions, fetch: Download = download) -> Report:
    """Validate manifests held in memory (a render) at their paths under the root, reading no manifest file.

    Scoped as `validate rendered/ argocd/` scopes the same files on disk: `rendered/<env>/...` by
    environment, `argocd/<env>.yaml` together.
    """
    registry = shared_registry(build_locations(options), options.cache_dir, fetch)
    root = options.root.resolve()
    scopes: dict[Path, list[LoadedFile]] = {}
    for manifest in manifests:
        file = LoadedFile(root / manifest.path, manifest.where, (manifest,), ())
        scopes.setdefault(root / scope_of(manifest.path), []).append(file)
    ordered = {directory: sorted(files, key=lambda f: f.path) for directory, files in sorted(scopes.items())}
    return validate_files(ordered, MemoryCatalog(f for files in ordered.values() for f in files), options, registry)


def scope_of(path: str) -> str:
    """The scope of a file at a root-relative path: `rendered/prod` for `rendered/prod/x.yaml`, `argocd`
    for `argocd/prod.yaml`."""
    parts = PurePosixPath(path).parts
    return "/".join(parts[:2] if len(parts) > 2 else parts[:-1])
