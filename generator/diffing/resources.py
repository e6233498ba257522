"""Resources: rendered files → resources keyed by identity per environment → what changed.

A tree of rendered files (`rendered/<env>/*.yaml`, `argocd/<env>.yaml`) is parsed, never compared
as text: the generated header, comments and formatting are not part of the deployment.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .. import yamlio
from ..errors import GeneratorError
from ..manifest import Identity, identity_of
from ..settings import ARGOCD_DIR, RENDERED_DIR
from .fields import FieldChange, diff_fields


class ResourceError(GeneratorError):
    """A rendered file that is not a set of Kubernetes resources."""


Resources = dict[Identity, dict[str, Any]]


class Status(enum.Enum):
    """How a resource differs between the base and the working tree."""

    CHANGED = "changed"
    ADDED = "added"
    REMOVED = "removed"


@dataclass(frozen=True)
class ResourceDiff:
    """One resource that differs, with its field changes when it exists on both sides."""

    key: Identity
    status: Status
    changes: tuple[FieldChange, ...] = ()


@dataclass(frozen=True)
class EnvDiff:
    """Every resource of one environment that differs, changed first, then added, then removed."""

    env: str
    resources: tuple[ResourceDiff, ...]

    def count(self, status: Status) -> int:
        return sum(1 for r in self.resources if r.status is status)

    def summary(self) -> str:
        """`1 changed, 2 added, 0 removed`."""
        return ", ".join(f"{self.count(s)} {s.value}" for s in Status)

    def __bool__(self) -> bool:
        return bool(self.resources)


# -- files → resources -------------------------------------------------------------------------


def environment_of(path: str) -> str | None:
    """`rendered/prod/service-gemma.yaml` and `argocd/prod.yaml` → `prod`; anything else → None."""
    parts = path.split("/")
    if len(parts) == 3 and parts[0] == RENDERED_DIR and parts[2].endswith(".yaml"):
        return parts[1]
    if len(parts) == 2 and parts[0] == ARGOCD_DIR and parts[1].endswith(".yaml"):
        return parts[1].removesuffix(".yaml")
    return None


def parse_file(path: str, data: bytes) -> list[dict[str, Any]]:
    """The resources in one rendered file (one, for files we render; empty documents are skipped),
    read with the same strict loader as render and validate."""
    try:
        documents = list(yamlio.load_documents(data.decode("utf-8")))
    except UnicodeDecodeError as err:
        raise ResourceError(f"{path}: not valid YAML: {err}") from err
    for document in documents:
        if document.error:
            raise ResourceError(f"{path}: not valid YAML: {document.where}: {document.error}")
        if not isinstance(document.data, dict):
            raise ResourceError(f"{path}: expected Kubernetes resources (YAML mappings)")
    return [document.data for document in documents]


def collect(files: Mapping[str, bytes], label: str) -> dict[str, Resources]:
    """Resources by environment and key, from a tree of rendered files (`label` names the tree in errors)."""
    envs: dict[str, Resources] = {}
    seen: dict[tuple[str, Identity], str] = {}
    for path in sorted(files):
        env = environment_of(path)
        if env is None:
            continue
        for doc in parse_file(path, files[path]):
            key = identity_of(doc)
            if (env, key) in seen:
                raise ResourceError(f"{label}: {key} is in both {seen[env, key]} and {path}")
            seen[env, key] = path
            envs.setdefault(env, {})[key] = doc
    return envs


# -- what changed ------------------------------------------------------------------------------


def diff_resources(before: Resources, after: Resources) -> tuple[ResourceDiff, ...]:
    """Changed resources with their field changes, then added, then removed; each group sorted by key."""
    changed = []
    for key in sorted(set(before) & set(after)):
        changes = diff_fields(before[key], after[key])
        if changes:
            changed.append(ResourceDiff(key, Status.CHANGED, tuple(changes)))
    added = [ResourceDiff(key, Status.ADDED) for key in sorted(set(after) - set(before))]
    removed = [ResourceDiff(key, Status.REMOVED) for key in sorted(set(before) - set(after))]
    return (*changed, *added, *removed)


def diff_environments(before: Mapping[str, Resources], after: Mapping[str, Resources]) -> tuple[EnvDiff, ...]:
    """One EnvDiff for every environment on either side, sorted by name."""
    return tuple(EnvDiff(env, diff_resources(before.get(env, {}), after.get(env, {})))
                 for env in sorted(set(before) | set(after)))
