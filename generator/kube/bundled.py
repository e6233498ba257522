"""The upstream Kubernetes JSON schemas that the `kubernetes-validate` wheel ships, read offline.

The wheel holds `kubernetes_validate/kubernetes-json-schema/v<X.Y.0>-local-strict/` per
Kubernetes minor: one file per kind named `<kind>[-<group's first label>]-<version>.json`
(`deployment-apps-v1.json`, `service-v1.json`), each with `$id`
`https://kubernetes.io/api/<kind>/...` and `$ref`s to `/api/_definitions.json#/$defs/...`, which
resolve against `_definitions.json` (`$id` `https://kubernetes.io/api/_definitions.json`).
The strict variant sets `additionalProperties: false`, so an unknown field is an error.
"""

from __future__ import annotations

import json
import re
from functools import cache
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from generator.errors import GeneratorError
from generator.jsonschemas import Resources
from generator.manifest import Identity

PACKAGE = "kubernetes_validate"
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


def schema_filename(signature: Identity) -> str:
    """`deployment-apps-v1.json`: the wheel's name for a kind's schema."""
    group = signature.group.split(".")[0].lower()
    middle = f"-{group}" if group else ""
    return f"{signature.kind.lower()}{middle}-{signature.version.lower()}.json"


@cache
def definitions(version: str) -> Resources:
    """One version's `_definitions.json`, parsed once and shared by every kind of that version."""
    contents = json.loads((version_dir(version) / "_definitions.json").read_bytes())
    return Resources({contents["$id"]: contents})


def load_schema(signature: Identity, version: str) -> dict[str, Any] | None:
    """The strict schema of a kind for one Kubernetes minor, or None if the wheel lacks it."""
    path = version_dir(version) / schema_filename(signature)
    if not path.is_file():
        return None
    schema = json.loads(path.read_bytes())
    return schema if _declares(schema, signature) else None


def _declares(schema: dict[str, Any], signature: Identity) -> bool:
    """Whether a schema is for exactly this group, version and kind (file names drop the domain)."""
    wanted = {"group": signature.group, "version": signature.version, "kind": signature.kind}
    return wanted in schema.get("x-kubernetes-group-version-kind", [])
