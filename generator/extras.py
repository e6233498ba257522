"""Extra manifests: plain Kubernetes YAML the team keeps beside the values, rendered with ours.

`values/<env>/extra/*.yaml` (and `*.yml`), read in name order, one or more documents each: a
ServiceMonitor, a LimitRange, a ResourceQuota, a second NetworkPolicy, anything the values do
not model. Each document becomes `rendered/<env>/<kind>-<name>.yaml` with our header naming its
source, dumped canonically like ours, so `check` sees drift in it, `diff` shows it and `render`
rewrites it for as long as its source exists (and prunes it once the source is gone).

Files beside the values, rather than a list inside them: they are plain Kubernetes YAML that
editors and linters already understand, one resource's diff reads like ours, and an error can
name the file and line it comes from. Read here with the strict loader (a key given twice is an
error) and checked for what a file name needs; a values error (exit 2) names the file and line.
Their schemas are checked before anything is written (generator/kube/sources.py), and
duplicates of what we render by generator/collisions.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from . import manifest, yamlio
from .errors import ValuesError
from .manifest import Manifest
from .problems import KeyPath, Problem
from .settings import RENDERED_DIR, Settings

EXTRA_DIR = "extra"
SUFFIXES = (".yaml", ".yml")
# What becomes part of a file name must be a Kubernetes name: `metadata.name` a DNS subdomain
# (RFC 1123), the kind a plain word, so no document can write outside rendered/<env>/.
NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
KIND = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")
REFUSED_KINDS = {
    "Secret": "a Secret in git is a secret in git: create it with an ExternalSecret (as the API key is)",
    "List": "give one resource per document, not a List",
}


@dataclass(frozen=True)
class Extra:
    """One document of an extra manifest: the manifest it renders to, where it came from and its lines."""

    manifest: Manifest  # path rendered/<env>/<kind>-<name>.yaml; label is the source (`file#2` for a 2nd document)
    source: str  # values/<env>/extra/<file>
    lines: Mapping[KeyPath, int] = field(default_factory=dict, repr=False)

    def line(self, path: KeyPath) -> int | None:
        """The source line of a key path, or of its nearest parent that has one."""
        for depth in range(len(path), -1, -1):
            if path[:depth] in self.lines:
                return self.lines[path[:depth]]
        return None


def extra_dir(settings: Settings, env: str) -> Path:
    """values/<env>/extra/."""
    return settings.values_dir / env / EXTRA_DIR


def source_files(settings: Settings, env: str) -> list[Path]:
    """The extra manifest files of an environment, in name order."""
    directory = extra_dir(settings, env)
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if p.suffix in SUFFIXES and p.is_file())


def _lines(node: yaml.Node, path: KeyPath, out: dict[KeyPath, int]) -> None:
    """Record the line of every key path under a node."""
    out[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            _lines(value_node, (*path, str(key_node.value)), out)
            out[(*path, str(key_node.value))] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _lines(item, (*path, index), out)


def document_lines(text: str) -> list[dict[KeyPath, int]]:
    """The line of every key path, per document of a stream that parses."""
    found = []
    for node in yaml.compose_all(text, Loader=yamlio.StrictSafeLoader):
        lines: dict[KeyPath, int] = {}
        if node is not None:
            _lines(node, (), lines)
        found.append(lines)
    return found


def _refusal(doc: Any) -> tuple[KeyPath, str] | None:
    """Why a document cannot be rendered as an extra, and where, or None."""
    problem = manifest.identity_problem(doc)
    if problem:
        return (), problem
    kind, metadata = doc["kind"], doc.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    if not KIND.match(kind):
        return ("kind",), f"kind {kind!r} is not a Kubernetes kind"
    if kind in REFUSED_KINDS:
        return ("kind",), REFUSED_KINDS[kind]
    if not isinstance(name, str) or not NAME.match(name) or len(name) > 253:
        return ("metadata", "name"), f"metadata.name {name!r} is not a Kubernetes name (lowercase RFC 1123 subdomain)"
    return None


def _extras_of(path: Path, settings: Settings, env: str) -> Iterator[Extra | Problem]:
    """The extras of one file, or the problems that stop it."""
    source = path.relative_to(settings.root).as_posix()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        yield Problem(source, "", f"cannot read: {err}", rule="extra-manifest")
        return
    documents = list(yamlio.load_documents(text))
    broken = [d for d in documents if d.error]
    if broken:
        yield from (Problem(source, d.where, d.error, rule="yaml") for d in broken)
        return
    lines = document_lines(text)
    several = len(documents) > 1
    for document in documents:
        label = f"{source}#{document.index + 1}" if several else source
        refusal = _refusal(document.data)
        if refusal is not None:
            where, message = refusal
            line = Extra(Manifest("", {}), source, lines[document.index]).line(where)
            yield Problem(label, _json_path(where), message, line=line, rule="extra-manifest")
            continue
        rendered = f"{RENDERED_DIR}/{env}/{manifest.file_name(document.data)}"
        built = manifest.build(rendered, document.data, source)
        yield Extra(Manifest(built.path, built.doc, built.text, document.index, label), source, lines[document.index])


def _json_path(path: KeyPath) -> str:
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)


def load(settings: Settings, env: str) -> tuple[Extra, ...]:
    """Every extra manifest of an environment; a values error (exit 2) lists every one that cannot be read."""
    found = [item for path in source_files(settings, env) for item in _extras_of(path, settings, env)]
    problems = tuple(item for item in found if isinstance(item, Problem))
    if problems:
        files = sorted({p.file.split("#")[0] for p in problems})
        raise ValuesError(f"{', '.join(files)}: {len(problems)} extra manifest problem{'s' if len(problems) > 1 else ''}",
                          problems)
    return tuple(item for item in found if isinstance(item, Extra))
