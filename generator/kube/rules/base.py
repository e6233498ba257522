"""What every rule works with: a Scope of resources in, Problems out, and small safe accessors.

Rendered data may be malformed (the schema check reports that); these accessors treat a
wrong type as absent, so a rule never fails on data it does not understand.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator.manifest import Manifest
from generator.problems import KeyPath, Problem, json_path

Path_ = KeyPath  # a path into a resource: ("spec", "ports", 0, "targetPort")


def finding(resource: Manifest, path: str, message: str) -> Problem:
    """One rule violation at a JSON path of a resource; the rule's ID is added by whoever runs it."""
    return Problem(resource.where, path, message)


@dataclass(frozen=True)
class Scope:
    """The resources a rule sees: one environment directory (or argocd/), plus a way to read others."""

    name: str
    root: Path
    resources: tuple[Manifest, ...]
    resources_at: Callable[[Path, bool], tuple[Manifest, ...]]  # directory, recurse → its resources
    is_dir: Callable[[Path], bool] = Path.is_dir  # whether a directory holds manifests (on disk, or in a render)

    def of_kind(self, kind: str, group: str | None = None) -> list[Manifest]:
        """The resources of a kind (and API group, when given), in scope order."""
        return [r for r in self.resources if r.identity.kind == kind and (group is None or r.identity.group == group)]


Rule = Callable[[Scope], Iterator[Problem]]


def jpath(*parts: str | int) -> str:
    """A JSON path as jsonschema writes it: `$.spec.ports[0].targetPort`."""
    return json_path(parts)


def as_dict(value: Any) -> Mapping[str, Any]:
    """The value if it is a mapping, else an empty one."""
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    """The value if it is a list, else an empty one."""
    return value if isinstance(value, list) else []


def dig(data: Any, *keys: str) -> Any:
    """A nested value by keys, None when any step is missing or not a mapping."""
    for key in keys:
        data = as_dict(data).get(key)
    return data


def same_namespace(a: Manifest, b: Manifest) -> bool:
    """Whether two resources land in one namespace; one without a namespace lands wherever it is applied."""
    first, second = a.identity.namespace, b.identity.namespace
    return not first or not second or first == second


def namespace_of(resource: Manifest) -> str:
    """The namespace for messages: `'gemma'`, or `the destination namespace`."""
    namespace = resource.identity.namespace
    return repr(namespace) if namespace else "the destination namespace"


def labels_text(labels: Mapping[str, Any]) -> str:
    """`app=gemma,tier=api`, sorted, for messages."""
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items(), key=str)) or "(none)"


def labels_match(selector: Mapping[str, Any], labels: Mapping[str, Any]) -> bool:
    """A Service-style selector (equality on every key) against labels."""
    return all(labels.get(key) == value for key, value in selector.items())


def selector_matches(selector: Mapping[str, Any], labels: Mapping[str, Any]) -> bool:
    """A LabelSelector (matchLabels and matchExpressions) against labels; empty selects all."""
    if not labels_match(as_dict(selector.get("matchLabels")), labels):
        return False
    return all(_expression_matches(as_dict(e), labels) for e in as_list(selector.get("matchExpressions")))


def _expression_matches(expression: Mapping[str, Any], labels: Mapping[str, Any]) -> bool:
    """One matchExpressions entry (In, NotIn, Exists, DoesNotExist)."""
    key, operator = expression.get("key"), expression.get("operator")
    if not isinstance(key, str):
        return False
    values = as_list(expression.get("values"))
    if operator == "In":
        return key in labels and labels[key] in values
    if operator == "NotIn":
        return key not in labels or labels[key] not in values
    if operator == "Exists":
        return key in labels
    return key not in labels  # DoesNotExist
