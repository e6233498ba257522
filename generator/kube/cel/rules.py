"""The `x-kubernetes-validations` of a schema, as a tree that mirrors the schema's structural spine.

As k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel/validation.go `validator` does, only
nodes that hold rules, or lead to nodes that do, are kept: `properties`, `items`,
`additionalProperties` and `allOf` branches (whose rules run at the same node). A tree is built
once per schema object and every rule is compiled once per process.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from generator.kube.cel.engine import CompileError, compile_expression, uses_old_self

Schema = Mapping[str, Any]


@dataclass(frozen=True)
class Rule:
    """One validation rule, where its schema declares it, and what it reports."""

    rule: str
    schema_path: str  # a JSON pointer into the schema: /properties/spec/properties/rules/items
    message: str = ""
    message_expression: str = ""
    field_path: str = ""
    reason: str = ""
    optional_old_self: bool = False

    @property
    def transition(self) -> bool:
        """Whether the rule compares with the stored object (`oldSelf`)."""
        return uses_old_self(self.rule)

    @property
    def error_string(self) -> str:
        """validation.go `ruleErrorString`: the message if there is one, else the rule."""
        return self.message.strip() or self.rule.strip()

    @property
    def default_message(self) -> str:
        """validation.go `ruleMessageOrDefault`."""
        return self.message.strip() or f"failed rule: {self.error_string}"


@dataclass(frozen=True)
class Compiled:
    """A rule with its programs; `error` says why it cannot run here (a tool limitation)."""

    rule: Rule
    program: Any = None
    message_program: Any = None
    error: str = ""


@dataclass
class Node:
    """The rules at one schema node and the nodes below it that hold rules."""

    schema: Schema
    rules: tuple[Compiled, ...] = ()
    properties: dict[str, Node] = field(default_factory=dict)
    items: Node | None = None
    additional: Node | None = None
    resource_root: bool = False

    def compiled(self) -> Iterator[Compiled]:
        """Every compiled rule of this node and below, depth first."""
        yield from self.rules
        for child in (*self.properties.values(), self.items, self.additional):
            if child is not None:
                yield from child.compiled()


def parse_rule(raw: Mapping[str, Any], schema_path: str) -> Rule:
    """A Rule from one entry of x-kubernetes-validations."""
    return Rule(
        rule=str(raw.get("rule", "")),
        schema_path=schema_path,
        message=str(raw.get("message", "") or ""),
        message_expression=str(raw.get("messageExpression", "") or ""),
        field_path=str(raw.get("fieldPath", "") or ""),
        reason=str(raw.get("reason", "") or ""),
        optional_old_self=bool(raw.get("optionalOldSelf", False)),
    )


def compile_rule(rule: Rule) -> Compiled:
    """Compile a rule and its messageExpression; a failure is recorded, not raised."""
    try:
        program = compile_expression(rule.rule, rule.optional_old_self)
        message = compile_expression(rule.message_expression) if rule.message_expression else None
    except CompileError as err:
        return Compiled(rule, error=f"cannot compile: {err}")
    return Compiled(rule, program, message)


def build(schema: Schema, path: str = "", resource_root: bool = True) -> Node | None:
    """The rule tree of a schema, None when it holds no rules."""
    own = [compile_rule(rule) for rule in _rules_at(schema, path)]
    node = Node(schema, tuple(own), resource_root=resource_root)
    for name, prop in (schema.get("properties") or {}).items():
        child = build(prop, f"{path}/properties/{_pointer(name)}", bool(prop.get("x-kubernetes-embedded-resource")))
        if child is not None:
            node.properties[name] = child
    for key in ("items", "additionalProperties"):
        sub = schema.get(key)
        if isinstance(sub, dict):
            child = build(sub, f"{path}/{key}", bool(sub.get("x-kubernetes-embedded-resource")))
            setattr(node, "items" if key == "items" else "additional", child)
    return node if node.rules or node.properties or node.items or node.additional else None


def _rules_at(schema: Schema, path: str) -> Iterator[Rule]:
    """The non-empty rules of a node and of its allOf branches (validation.go skips an empty rule)."""
    branches = [(schema, path)]
    branches += [(b, f"{path}/allOf/{i}") for i, b in enumerate(schema.get("allOf") or ()) if isinstance(b, dict)]
    for branch, where in branches:
        for raw in branch.get("x-kubernetes-validations") or ():
            if isinstance(raw, dict) and str(raw.get("rule", "")).strip():
                yield parse_rule(raw, where)


def _pointer(name: str) -> str:
    """A property name as a JSON-pointer segment."""
    return name.replace("~", "~0").replace("/", "~1")
