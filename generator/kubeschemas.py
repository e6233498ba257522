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

import json
import re
from functools import cache
from importlib.util import find_spec
from pathlib import Path
from typing import Any

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
