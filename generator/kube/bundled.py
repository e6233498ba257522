"""The upstream Kubernetes JSON schemas that the `kubernetes-validate` wheel ships, read offline.

The wheel holds `kubernetes_validate/kubernetes-json-schema/v<X.Y.0>-local-strict/` per
Kubernetes minor: one file per kind named `<kind>[-<group's first label>]-<version>.json`
(`deployment-apps-v1.json`, `service-v1.json`), each with `$id`
`https://kubernetes.io/api/<kind>/...` and `$ref`s to `/api/_definitions.json#/$defs/...`, which
resolve against `_definitions.json` (`$id` `https://kubernetes.io/api/_definitions.json`).
The strict variant sets `additionalProperties: false`, so an unknown field is an error.
Where the wheel is and what it holds is generator/kubeschemas.py's (the values stage reads it too).
"""

from __future__ import annotations

import json
from typing import Any

from generator.jsonschemas import Resources
from generator.kubeschemas import available_versions, definitions_resources, schema_root, version_dir
from generator.manifest import Identity

__all__ = ["available_versions", "definitions", "load_schema", "schema_filename", "schema_root", "version_dir"]


def schema_filename(signature: Identity) -> str:
    """`deployment-apps-v1.json`: the wheel's name for a kind's schema."""
    group = signature.group.split(".")[0].lower()
    middle = f"-{group}" if group else ""
    return f"{signature.kind.lower()}{middle}-{signature.version.lower()}.json"


def definitions(version: str) -> Resources:
    """One version's `_definitions.json`, shared by every kind of that version (and the values' pod pieces)."""
    return definitions_resources(version)


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
