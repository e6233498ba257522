"""CEL validation rules of CRD schemas (`x-kubernetes-validations`), evaluated as the API server does.

Pure and small on purpose: `cel_findings(schema, instance)` gives the rules an object breaks,
`cel_limitations(schema)` the rules this tool cannot evaluate (reported once, never as passed).
Modules, in the order data flows: `library` (the CEL environment) → `engine` (compile once,
evaluate) → `rules` (the rule tree of a schema) → `values` (defaults, and `self` as Kubernetes
binds it) → `evaluate` (the walk).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from generator.kube.cel.evaluate import walk
from generator.kube.cel.rules import Node, build
from generator.kube.cel.values import defaulted

ROOT = "$"


@dataclass(frozen=True)
class CelFinding:
    """A rule the object breaks: where, the API server's message, and the rule itself."""

    json_path: str
    message: str
    rule: str


@dataclass(frozen=True)
class CelLimitation:
    """A rule this tool cannot evaluate, and why: never a pass, never the user's error."""

    schema_path: str
    rule: str
    reason: str


@dataclass(frozen=True)
class _Rules:
    """A schema's compiled rule tree, how many rules it holds and the ones that cannot compile, built once."""

    schema: Mapping[str, Any]  # kept, so its id stays unique while it is remembered
    tree: Node | None
    count: int
    limitations: tuple[CelLimitation, ...]


# One entry per schema object for the whole process: asked for every resource and Kubernetes version.
_RULES: dict[int, _Rules] = {}


def _rules(schema: Mapping[str, Any]) -> _Rules:
    """The schema's rules, built on first use."""
    found = _RULES.get(id(schema))
    if found is None or found.schema is not schema:
        tree = build(schema)
        compiled = list(tree.compiled()) if tree is not None else []
        limitations = tuple(CelLimitation(c.rule.schema_path, c.rule.rule, c.error) for c in compiled if c.error)
        found = _RULES[id(schema)] = _Rules(schema, tree, len(compiled), limitations)
    return found


def rule_tree(schema: Mapping[str, Any]) -> Node | None:
    """The schema's compiled rule tree, built on first use."""
    return _rules(schema).tree


def cel_findings(schema: Mapping[str, Any], instance: Mapping[str, Any]) -> list[CelFinding]:
    """Every rule of the schema that the (defaulted) object breaks, in document order."""
    tree = rule_tree(schema)
    if tree is None:
        return []
    return [CelFinding(f.json_path, f.message, f.rule.rule) for f in walk(tree, defaulted(instance, schema), ROOT)]


def cel_limitations(schema: Mapping[str, Any]) -> list[CelLimitation]:
    """The schema's rules that cannot compile here."""
    return list(_rules(schema).limitations)


def rule_count(schema: Mapping[str, Any]) -> int:
    """How many rules the schema declares (at nodes CEL can reach)."""
    return _rules(schema).count


__all__ = ["CelFinding", "CelLimitation", "cel_findings", "cel_limitations", "rule_count"]
