"""Resources: the documents of a manifest file, each with the signature that finds its schema.

After kubeconform's `resource` package (yannh/kubeconform, pkg/resource/resource.go):
a `Signature{Kind, Version, Namespace, Name}` computed once per document.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generator.kube.loader import Document, load_documents

YAML_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class Signature:
    """What a document is: apiVersion and kind pick its schema, namespace and name identify it."""

    api_version: str
    kind: str
    namespace: str | None = None
    name: str = ""

    @property
    def group(self) -> str:
        """The API group: `apps` for `apps/v1`, empty for the core group's `v1`."""
        return self.api_version.rpartition("/")[0]

    @property
    def version(self) -> str:
        """The API version without its group: `v1` for `apps/v1`."""
        return self.api_version.rpartition("/")[2]

    def describe(self) -> str:
        """`Deployment 'gemma'`, as messages name a resource."""
        return f"{self.kind} {self.name!r}"


@dataclass(frozen=True)
class Resource:
    """One loaded document: where it came from, its signature and its data."""

    path: Path  # the file on disk
    index: int  # the document's place in its file, from 0
    label: str  # how messages name it: project-relative, `#2` for the 2nd of several documents
    signature: Signature
    body: Mapping[str, Any] = field(compare=False, repr=False)


@dataclass(frozen=True)
class LoadFailure:
    """A document that could not be turned into a Resource, and why."""

    path: Path
    index: int
    label: str
    where: str  # `line 4, column 3` or `$`
    message: str
    source: str  # `yaml` for a parse error, `manifest` for a document that is no resource


@dataclass(frozen=True)
class LoadedFile:
    """Everything one manifest file holds."""

    path: Path
    label: str
    resources: tuple[Resource, ...]
    failures: tuple[LoadFailure, ...]


def display_path(path: Path, root: Path) -> str:
    """A path relative to the project root when it lies inside it, else as given."""
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def load_file(path: Path, root: Path) -> LoadedFile:
    """Split a manifest file into resources and failures; an unreadable file is one failure."""
    label = display_path(path, root)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        failure = LoadFailure(path, 0, label, "", f"cannot read file: {err}", "yaml")
        return LoadedFile(path, label, (), (failure,))
    documents = list(load_documents(text))
    several = len(documents) > 1
    items = [_from_document(path, _label(label, d.index, several), d) for d in documents]
    resources = tuple(i for i in items if isinstance(i, Resource))
    failures = tuple(i for i in items if isinstance(i, LoadFailure))
    return LoadedFile(path, label, resources, failures)


def _label(label: str, index: int, several: bool) -> str:
    """`file.yaml#2` for the second document of a multi-document file."""
    return f"{label}#{index + 1}" if several else label


def _from_document(path: Path, label: str, document: Document) -> Resource | LoadFailure:
    """A Resource, or a LoadFailure saying what the document lacks."""
    if document.error:
        return LoadFailure(path, document.index, label, document.where, document.error, "yaml")
    problem = signature_problem(document.data)
    if problem:
        return LoadFailure(path, document.index, label, "$", problem, "manifest")
    return Resource(path, document.index, label, signature_of(document.data), document.data)


def signature_problem(data: Any) -> str:
    """Why a document has no signature (kubeconform: `missing 'kind' key`), or ''."""
    if not isinstance(data, dict):
        return f"a Kubernetes resource is a mapping, not {type(data).__name__}"
    for key in ("apiVersion", "kind"):
        if not isinstance(data.get(key), str) or not data[key]:
            return f"missing {key!r} key"
    return ""


def signature_of(data: Mapping[str, Any]) -> Signature:
    """The signature of a document that has apiVersion and kind."""
    metadata = data.get("metadata")
    metadata = metadata if isinstance(metadata, dict) else {}
    namespace = metadata.get("namespace")
    name = metadata.get("name")
    return Signature(
        api_version=data["apiVersion"],
        kind=data["kind"],
        namespace=namespace if isinstance(namespace, str) and namespace else None,
        name=name if isinstance(name, str) else "",
    )


def manifest_files(directory: Path, recurse: bool = True) -> list[Path]:
    """The YAML files under a directory, sorted, hidden directories left out."""
    pattern = "**/*" if recurse else "*"
    files = (p for p in directory.glob(pattern) if p.suffix in YAML_SUFFIXES and p.is_file())
    visible = (p for p in files if not any(part.startswith(".") for part in p.relative_to(directory).parts))
    return sorted(visible)
