"""The upstream Kubernetes JSON schemas that the `kubernetes-validate` wheel ships, read offline.

The wheel holds `kubernetes_validate/kubernetes-json-schema/v<X.Y.0>-local-strict/` per
Kubernetes minor: one file per kind and `_definitions.json` (`$id`
`https://kubernetes.io/api/_definitions.json`), whose `$defs` are every API type by its OpenAPI
name (`io.k8s.api.core.v1.Toleration`). The strict variant sets `additionalProperties: false`, so
an unknown field is an error. `validate` reads the kind schemas (generator/kube/bundled.py); the
values stage reads single definitions, for the values that are pieces of a pod spec.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource

from .errors import GeneratorError

PACKAGE = "kubernetes_validate"
DEFINITIONS_ID = "https://kubernetes.io/api/_definitions.json"
_VERSION_DIR = re.compile(r"^v(\d+)\.(\d+)\.\d+-local-strict$")


@cache
def schema_root() -> Path:
    """The wheel's schema directory (a real directory: the wheel installs unzipped)."""
    try:
        return Path(str(resources.files(PACKAGE) / "kubernetes-json-schema"))
    except ModuleNotFoundError as err:
        raise GeneratorError(
            "kubernetes-validate is not installed: pip install 'kubernetes-validate>=1.37,<2'"
        ) from err


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
def definitions(version: str) -> Registry[Any]:
    """A referencing registry holding one version's `_definitions.json`, parsed once."""
    contents = json.loads((version_dir(version) / "_definitions.json").read_bytes())
    registry: Registry[Any] = Registry().with_resource(contents["$id"], Resource.from_contents(contents))
    return registry


@cache
def definition_validator(name: str, version: str) -> Draft202012Validator:
    """A validator for one API type (`io.k8s.api.core.v1.Toleration`) of one Kubernetes minor."""
    schema = {"$ref": f"{DEFINITIONS_ID}#/$defs/{name}"}
    return Draft202012Validator(schema, registry=definitions(version))


def definition_errors(name: str, instance: Any, versions: Iterable[str]) -> Iterator[tuple[ValidationError, tuple[str, ...]]]:
    """Every error of `instance` against the API type `name`, once, with the versions it occurs in."""
    wanted = tuple(v for v in versions if v in available_versions()) or available_versions()[-1:]
    seen: dict[tuple[str, str], tuple[ValidationError, list[str]]] = {}
    for version in wanted:
        for error in definition_validator(name, version).iter_errors(instance):
            key = (error.json_path, error.message)
            seen.setdefault(key, (error, []))[1].append(version)
    for _, (error, found) in sorted(seen.items()):
        yield error, tuple(found) if len(found) < len(wanted) else ()
