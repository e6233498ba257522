"""What `self` is: the object as the API server holds it when rules run, bound by its schema.

Before validation the API server prunes nulls and applies the schema's defaults
(k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting/algorithm.go `Default` and
prunenulls.go), so a rule sees `type: PathPrefix` the user never wrote. Binding follows
k8s.io/apiserver/pkg/cel/common/schemas.go `SchemaDeclType` and values.go `UnstructuredToVal`:
only declared properties are visible, under escaped names (`namespace` is `__namespace__`,
escaping.go `Escape`); `additionalProperties` make a map with the keys as written;
`x-kubernetes-int-or-string` stays dynamic; `number` is a double; strings of format `byte` are
bytes, `date`/`date-time` timestamps and `duration` durations.
"""

from __future__ import annotations

import base64
import binascii
import copy
import re
from collections.abc import Mapping
from typing import Any

Schema = Mapping[str, Any]

# k8s.io/apiserver/pkg/cel/escaping.go celReservedSymbols
RESERVED = frozenset({
    "true", "false", "null", "in", "as", "break", "const", "continue", "else", "for", "function", "if",
    "import", "let", "loop", "package", "namespace", "return", "var", "void", "while",
})
_ESCAPES = {"__": "__underscores__", ".": "__dot__", "-": "__dash__", "/": "__slash__"}
_ESCAPABLE = re.compile(r"^[a-zA-Z_.\-/][a-zA-Z0-9_.\-/]*$")
_TO_ESCAPE = re.compile(r"__|[.\-/]")


def escape(name: str) -> str | None:
    """A property name as CEL sees it, or None when it cannot be a CEL identifier (escaping.go `Escape`)."""
    if name in RESERVED:
        return f"__{name}__"
    if not _ESCAPABLE.match(name):
        return None
    return _TO_ESCAPE.sub(lambda m: _ESCAPES[m.group(0)], name)


def schema_type(schema: Schema) -> str:
    """The schema's type, '' when it has none (int-or-string, preserve-unknown-fields)."""
    kind = schema.get("type")
    if isinstance(kind, list):  # a JSON-Schema rendering of `nullable: true`
        kind = next((k for k in kind if k != "null"), "")
    return kind if isinstance(kind, str) else ""


def is_nullable(schema: Schema) -> bool:
    """Whether null is a value of the schema (`nullable: true`, or a type list with null)."""
    kind = schema.get("type")
    return bool(schema.get("nullable")) or (isinstance(kind, list) and "null" in kind)


def _child(schema: Schema, key: str) -> Schema | None:
    """The schema of an object's key: its property, else additionalProperties."""
    properties = schema.get("properties")
    if isinstance(properties, dict) and key in properties:
        return properties[key]
    extra = schema.get("additionalProperties")
    return extra if isinstance(extra, dict) else None


def defaulted(instance: Any, schema: Schema) -> Any:
    """A copy of the instance with non-nullable nulls pruned and every schema default applied."""
    result = copy.deepcopy(instance)
    _apply_defaults(result, schema)
    return result


def _apply_defaults(value: Any, schema: Schema | None) -> None:
    """defaulting/algorithm.go `Default`, in place; a default inserted is itself defaulted."""
    if not isinstance(schema, dict):
        return
    if isinstance(value, dict):
        for key, prop in (schema.get("properties") or {}).items():
            if isinstance(prop, dict) and "default" in prop and (key not in value or _pruned_null(value[key], prop)):
                value[key] = copy.deepcopy(prop["default"])
        for key in list(value):
            child = _child(schema, key)
            if child is not None and _pruned_null(value[key], child):
                del value[key]  # prunenulls.go: a null the schema does not allow is dropped
                continue
            _apply_defaults(value[key], child)
    elif isinstance(value, list):
        items = schema.get("items")
        for item in value:
            _apply_defaults(item, items if isinstance(items, dict) else None)


def _pruned_null(value: Any, schema: Schema) -> bool:
    """Whether a value is a null that the API server prunes (or replaces by the default)."""
    return value is None and not is_nullable(schema)


def exposed(schema: Schema) -> bool:
    """Whether CEL can see values of this schema (`SchemaDeclType` returns non-nil)."""
    if schema.get("x-kubernetes-int-or-string"):
        return True
    kind = schema_type(schema)
    if kind == "array":
        items = schema.get("items")
        return isinstance(items, dict) and exposed(items)
    if kind == "object":
        extra = schema.get("additionalProperties")
        return exposed(extra) if isinstance(extra, dict) else True
    return kind in ("string", "boolean", "number", "integer")


def bind(value: Any, schema: Schema, resource_root: bool = False) -> Any:
    """The value as CEL sees it at a node of this schema."""
    if value is None or schema.get("x-kubernetes-int-or-string"):
        return value
    kind = schema_type(schema)
    if kind == "object" and isinstance(value, dict):
        return _bind_object(value, schema, resource_root)
    if kind == "array" and isinstance(value, list):
        items = schema.get("items")
        return [bind(item, items) for item in value] if isinstance(items, dict) else value
    if kind == "number" and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if kind == "string" and isinstance(value, str):
        return _bind_string(value, str(schema.get("format", "")))
    return value  # a value of the wrong type: the schema check reports it; CEL sees it as it is


def _bind_object(value: dict[str, Any], schema: Schema, resource_root: bool) -> dict[str, Any]:
    """A map of the declared properties under escaped names, or of additionalProperties as written."""
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict) and not schema.get("properties"):
        return {key: bind(item, extra) for key, item in value.items()}
    properties = dict(schema.get("properties") or {})
    if resource_root:
        properties.update(_TYPE_AND_OBJECT_META)
    bound: dict[str, Any] = {}
    for key, item in value.items():
        prop, name = properties.get(key), escape(key)
        if isinstance(prop, dict) and name is not None and exposed(prop):
            bound[name] = bind(item, prop)
    return bound


# schemas.go `WithTypeAndObjectMeta`: at a resource's root, rules see these and nothing else of metadata.
_TYPE_AND_OBJECT_META: dict[str, Schema] = {
    "apiVersion": {"type": "string"},
    "kind": {"type": "string"},
    "metadata": {"type": "object", "properties": {"name": {"type": "string"}, "generateName": {"type": "string"}}},
}


def _bind_string(value: str, fmt: str) -> Any:
    """Strings of format byte, date, date-time and duration as the CEL types Kubernetes gives them."""
    if fmt == "byte":
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            return value
    if fmt in ("date", "date-time"):
        return _timestamp(value if fmt == "date-time" else value + "T00:00:00Z")
    if fmt == "duration":
        return _duration(value)
    return value


def _timestamp(text: str) -> Any:
    """A protobuf Timestamp (the form cel-expr-python accepts), or the text when it does not parse."""
    from google.protobuf import timestamp_pb2

    stamp = timestamp_pb2.Timestamp()
    try:
        stamp.FromJsonString(text)
    except ValueError:
        return text
    return stamp


_GO_DURATION = re.compile(r"^(-)?((?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|ms|s|m|h))+$")
_GO_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_UNIT_NANOS = {"ns": 1, "us": 10**3, "µs": 10**3, "ms": 10**6, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9}


def _duration(text: str) -> Any:
    """A protobuf Duration from Go's time.ParseDuration syntax, or the text when it does not parse."""
    from google.protobuf import duration_pb2

    if text == "0":
        return duration_pb2.Duration()
    found = _GO_DURATION.match(text)
    if not found:
        return text
    nanos = sum(int(float(number) * _UNIT_NANOS[unit]) for number, unit in _GO_PART.findall(text))
    duration = duration_pb2.Duration()
    duration.FromNanoseconds(-nanos if found.group(1) else nanos)
    return duration
