"""The upstream Kubernetes JSON schemas that the `kubernetes-validate` wheel ships, read offline.

The wheel holds `kubernetes_validate/kubernetes-json-schema/v<X.Y.0>-local-strict/` per
Kubernetes minor: one file per kind and `_definitions.json` (`$id`
`https://kubernetes.io/api/_definitions.json`), whose `$defs` are every API type by its OpenAPI
name (`io.k8s.api.core.v1.Toleration`). The strict variant sets `additionalProperties: false`, so
an unknown field is an error. `validate` reads the kind schemas (generator/kube/bundled.py); the
values stage reads single definitions, for the values that are pieces of a pod spec. This module only
finds and parses them, so a command that validates no values loads no JSON Schema library for them.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from functools import cache
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from .cachefile import write_atomically
from .errors import GeneratorError
from .jsonschemas import Resources

PACKAGE = "kubernetes_validate"
DEFINITIONS_ID = "https://kubernetes.io/api/_definitions.json"
_VERSION_DIR = re.compile(r"^v(\d+)\.(\d+)\.\d+-local-strict$")


@cache
def schema_root() -> Path:
    """The wheel's schema directory (a real directory: the wheel installs unzipped).

    Found without importing the package: its `__init__` imports jsonschema and more (75 ms), and only
    its data is used.
    """
    spec = find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise GeneratorError("kubernetes-validate is not installed: pip install 'kubernetes-validate>=1.37,<2'")
    return Path(next(iter(spec.submodule_search_locations))) / "kubernetes-json-schema"


@cache
def available_versions() -> tuple[str, ...]:
    """The Kubernetes minors the wheel has strict schemas for, oldest first: ('1.25', ...)."""
    found = (_VERSION_DIR.match(p.name) for p in schema_root().iterdir())
    minors = sorted((int(m.group(1)), int(m.group(2))) for m in found if m)
    return tuple(f"{major}.{minor}" for major, minor in minors)


def version_dir(version: str) -> Path:
    """The strict schema directory of one Kubernetes minor (`1.31`)."""
    return schema_root() / f"v{version}.0-local-strict"


@cache
def definitions_document(version: str) -> dict[str, Any]:
    """One version's `_definitions.json`, parsed once for every user (validate's kinds, the values' pod pieces)."""
    document: dict[str, Any] = json.loads((version_dir(version) / "_definitions.json").read_bytes())
    return document


@cache
def definitions_resources(version: str) -> Resources:
    """One version's `_definitions.json` as the documents its types' `$ref`s resolve to, for both validators."""
    contents = definitions_document(version)
    return Resources({contents["$id"]: contents})


# -- what a schema needs of _definitions.json -------------------------------------------------------
#
# `_definitions.json` is 1.5 MB a version (730 types); a Deployment reaches 118 of them, 200 KB. Parsing
# the whole document and handing it to jsonschema-rs took 15 ms a version, three versions in a default
# `check`. So the closure of what a schema references is kept in the schema cache, written the first
# time and read after, keyed by the document's path, size and modification time and the types asked
# for; an entry carries the SHA-256 of its JSON, and one that does not match is ignored and written anew.

DEFINITIONS_CACHE = "definitions"  # under the schema cache directory
CLOSURE_FORMAT = "gemma-gitops definitions closure 1"


def definitions_for(version: str, roots: Iterable[str], schema_cache: Path | None) -> Resources:
    """The part of one version's `_definitions.json` that the types `roots` reach, as `$ref` resources;
    without a schema cache, the whole document."""
    if schema_cache is None:
        return definitions_resources(version)
    return _closure_resources(version, tuple(sorted(set(roots))), schema_cache)


@cache
def _closure_resources(version: str, roots: tuple[str, ...], schema_cache: Path) -> Resources:
    """definitions_for's closure, read from the cache or made (and cached) from the whole document."""
    source = version_dir(version) / "_definitions.json"
    entry = schema_cache / DEFINITIONS_CACHE / f"{closure_key(source, roots)}.json"
    document = read_closure(entry, roots)
    if document is None:
        document = closure(definitions_document(version), roots)
        text = json.dumps(document, separators=(",", ":")).encode("utf-8")
        try:
            write_atomically(entry, hashlib.sha256(text).hexdigest().encode() + b"\n" + text)
        except OSError:
            pass  # a cache that cannot be written costs the next run a parse, nothing else
    return Resources({DEFINITIONS_ID: document})


def closure_key(source: Path, roots: tuple[str, ...]) -> str:
    """The cache key of a closure: the format, the document's identity on disk, the types asked for."""
    stat = source.stat()
    identity = "\n".join((CLOSURE_FORMAT, str(source), str(stat.st_size), str(stat.st_mtime_ns), *roots))
    return hashlib.sha256(identity.encode("utf-8")).hexdigest()


def read_closure(entry: Path, roots: tuple[str, ...]) -> dict[str, Any] | None:
    """A cached closure whose digest matches its JSON and which holds every root, else None."""
    try:
        digest, _, text = entry.read_bytes().partition(b"\n")
        if hashlib.sha256(text).hexdigest().encode() != digest:
            return None
        document = json.loads(text)
    except (OSError, ValueError):
        return None
    defs = document.get("$defs") if isinstance(document, dict) else None
    return document if isinstance(defs, dict) and all(root in defs for root in roots) else None


def closure(document: Mapping[str, Any], roots: Iterable[str]) -> dict[str, Any]:
    """`document` with only the definitions `roots` reach through `$ref`s (its other keys kept)."""
    defs = document["$defs"]
    kept: dict[str, Any] = {}
    pending = list(roots)
    while pending:
        name = pending.pop()
        if name not in kept and name in defs:
            kept[name] = defs[name]
            pending.extend(definition_refs(defs[name]))
    return {**{k: v for k, v in document.items() if k != "$defs"}, "$defs": dict(sorted(kept.items()))}


def definition_refs(node: Any) -> Iterator[str]:
    """The names of the definitions a schema `$ref`s (`…#/$defs/<name>`), at any depth."""
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            ref = item.get("$ref")
            if isinstance(ref, str) and "#/$defs/" in ref:
                yield ref.rsplit("#/$defs/", 1)[1]
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
