"""Run a rule tree over one object: every rule at every node its value reaches, every failure kept.

The walk follows k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel/validation.go
`Validator.validate`: a null value is not validated; the rules of a node run with `self` bound
to the node's value; then list items and map values (additionalProperties) each run their own
node's rules with `self` bound to the item or value, and declared properties run theirs.
Transition rules (`oldSelf`) run only when there is an old object, so on create they are
skipped, except `optionalOldSelf` rules, which run with `oldSelf` = `optional.none()`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from generator.kube.cel.engine import activation, evaluate
from generator.kube.cel.rules import Compiled, Node, Rule
from generator.kube.cel.values import bind, schema_type

MAX_MESSAGE_BYTES = 5 * 1024  # k8s.io/apiserver/pkg/apis/cel/config.go MaxEvaluatedMessageExpressionSizeBytes


@dataclass(frozen=True)
class Failure:
    """A rule that failed (or could not be evaluated) at a JSON path, with the API server's wording."""

    json_path: str
    message: str
    rule: Rule


def walk(node: Node, value: Any, path: str) -> Iterator[Failure]:
    """Every failure at this node and below."""
    if value is None:
        return
    if node.rules:
        yield from _run_node(node, value, path)
    if isinstance(value, list) and node.items is not None:
        for index, item in enumerate(value):
            yield from walk(node.items, item, f"{path}[{index}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            child = node.properties.get(key, node.additional if not node.schema.get("properties") else None)
            if child is not None:
                yield from walk(child, item, f"{path}.{key}")


def _run_node(node: Node, value: Any, path: str) -> Iterator[Failure]:
    """The failures of this node's own rules, `self` bound once for all of them."""
    bound = activation(bind(value, node.schema, node.resource_root))
    kind = schema_type(node.schema)
    for compiled in node.rules:
        if compiled.error or (compiled.rule.transition and not compiled.rule.optional_old_self):
            continue  # limitations are reported once by the caller; transition rules wait for an update
        failure = _run_rule(compiled, bound, path, kind)
        if failure is not None:
            yield failure


def _run_rule(compiled: Compiled, bound: Any, path: str, kind: str) -> Failure | None:
    """validation.go `validateExpressions` for one rule: None when it holds."""
    rule = compiled.rule
    outcome = evaluate(compiled.program, bound)
    if outcome.error:
        if outcome.error.startswith("no such overload"):
            detail = (f"'{outcome.error}': call arguments did not match a supported operator, function or macro"
                      f" signature for rule: {rule.error_string}")
        else:
            detail = f"{outcome.error} evaluating rule: {rule.error_string}"
        return Failure(path, invalid(kind, detail), rule)
    if outcome.value is True:
        return None
    where = path + normalized_field_path(rule.field_path)
    return Failure(where, field_error(rule.reason, kind, _message(compiled, bound)), rule)


def _message(compiled: Compiled, bound: Any) -> str:
    """The messageExpression's string when it yields a usable one, else the rule's message (validation.go)."""
    if compiled.message_program is not None:
        outcome = evaluate(compiled.message_program, bound)
        text = outcome.value.strip() if isinstance(outcome.value, str) else ""
        if not outcome.error and text and "\n" not in text and len(text.encode()) <= MAX_MESSAGE_BYTES:
            return text
    return compiled.rule.default_message


def invalid(kind: str, detail: str) -> str:
    """field.Invalid's text, with the schema type as the value, as the API server prints it."""
    return f'Invalid value: "{kind}": {detail}'


def field_error(reason: str, kind: str, detail: str) -> str:
    """validation.go `fieldErrorForReason`: the field.Error text for the rule's reason."""
    if reason == "FieldValueForbidden":
        return f"Forbidden: {detail}"
    if reason == "FieldValueRequired":
        return f"Required value: {detail}"
    if reason == "FieldValueDuplicate":
        return f'Duplicate value: "{kind}"'
    return invalid(kind, detail)


def normalized_field_path(field_path: str) -> str:
    """A rule's fieldPath (`.spec.x`, `['a.b']`) as a JSON-path suffix (`.spec.x`, `.a.b`)."""
    text = field_path.strip()
    if not text:
        return ""
    parts = []
    for segment in _segments(text):
        parts.append(f".{segment}")
    return "".join(parts)


def _segments(text: str) -> Iterator[str]:
    """The names of a fieldPath: `.a['b.c'].d` → a, b.c, d."""
    position = 0
    while position < len(text):
        if text[position] == ".":
            end = position + 1
            while end < len(text) and text[end] not in ".[":
                end += 1
            yield text[position + 1 : end]
            position = end
        elif text.startswith("['", position):
            end = text.index("']", position)
            yield text[position + 2 : end].replace("\\'", "'")
            position = end + 2
        else:  # not a path the API server accepts at CRD creation; keep it visible as written
            yield text[position:]
            return
