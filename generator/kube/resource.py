"""Manifest files: the documents of a file, each a Manifest with the identity that finds its schema.

After kubeconform's `resource` package (yannh/kubeconform, pkg/resource/resource.go): the
identity is computed once per document; a document that is not a resource is a LoadFailure.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from generator.manifest import Manifest, identity_problem
from generator.problems import Problem
from generator.yamlio import Document, load_documents

YAML_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class LoadFailure:
    """A document that could not be turned into a Manifest: its place in its file, and the problem."""

    index: int
    problem: Problem  # rule `yaml` for a parse error, `manifest` for a document that is no resource


@dataclass(frozen=True)
class LoadedFile:
    """Everything one manifest file holds."""

    path: Path
    label: str
    manifests: tuple[Manifest, ...]
    failures: tuple[LoadFailure, ...]


def display_path(path: Path, root: Path) -> str:
    """A path relative to the project root when it lies inside it, else as given."""
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def load_file(path: Path, root: Path) -> LoadedFile:
    """Split a manifest file into manifests and failures; an unreadable file is one failure."""
    label = display_path(path, root)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        failure = LoadFailure(0, Problem(label, "", f"cannot read file: {err}", rule="yaml"))
        return LoadedFile(path, label, (), (failure,))
    return load_text(text, path, label)


def load_text(text: str, path: Path, label: str) -> LoadedFile:
    """Split the text of a manifest file into manifests and failures."""
    documents = list(load_documents(text))
    several = len(documents) > 1
    items = [_from_document(label, _label(label, d.index, several), d) for d in documents]
    manifests = tuple(i for i in items if isinstance(i, Manifest))
    failures = tuple(i for i in items if isinstance(i, LoadFailure))
    return LoadedFile(path, label, manifests, failures)


def _label(label: str, index: int, several: bool) -> str:
    """`file.yaml#2` for the second document of a multi-document file."""
    return f"{label}#{index + 1}" if several else label


def _from_document(path: str, label: str, document: Document) -> Manifest | LoadFailure:
    """A Manifest, or a LoadFailure saying what the document lacks."""
    if document.error:
        return LoadFailure(document.index, Problem(label, document.where, document.error, rule="yaml"))
    problem = identity_problem(document.data)
    if problem:
        return LoadFailure(document.index, Problem(label, "$", problem, rule="manifest"))
    return Manifest(path, document.data, index=document.index, label=label)


def manifest_files(directory: Path, recurse: bool = True) -> list[Path]:
    """The YAML files under a directory, sorted, hidden directories left out."""
    pattern = "**/*" if recurse else "*"
    files = (p for p in directory.glob(pattern) if p.suffix in YAML_SUFFIXES and p.is_file())
    visible = (p for p in files if not any(part.startswith(".") for part in p.relative_to(directory).parts))
    return sorted(visible)
