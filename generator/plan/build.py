"""Values → Spec: fill the plan's dataclasses from validated values, field by field, by their types.

The schema is the single source of defaults and documentation; by the time values reach here they
are merged and valid, so a mismatch is a bug in the plan's model, raised as one (PlanModelError).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from functools import cache
from typing import Any, TypeVar

from ..problems import KeyPath, key_path
from .model import Key

T = TypeVar("T")


class PlanModelError(Exception):
    """Validated values that the plan's model does not match: a key without a field, or a wrong type."""


def camel(name: str) -> str:
    """`request_timeout_seconds` → `requestTimeoutSeconds`."""
    head, *rest = name.split("_")
    return head + "".join(word.capitalize() for word in rest)


def fields_of(cls: type) -> tuple[tuple[str, str, Any], ...]:
    """(values key, field name, type) of every field of a plan dataclass."""
    return _fields(cls)


@cache
def _fields(cls: type) -> tuple[tuple[str, str, Any], ...]:
    """Resolved once per class: a `Key` in an `Annotated` type overrides the camelCase of the name."""
    hints = typing.get_type_hints(cls, include_extras=True)
    out = []
    for field in dataclasses.fields(cls):
        kind, name = hints[field.name], camel(field.name)
        if typing.get_origin(kind) is typing.Annotated:
            kind, *extras = typing.get_args(kind)
            name = next((extra.name for extra in extras if isinstance(extra, Key)), name)
        out.append((name, field.name, kind))
    return tuple(out)


def build(cls: type[T], data: Any, path: KeyPath = ()) -> T:
    """An instance of the dataclass `cls` from the mapping at `path` of the values."""
    if not isinstance(data, Mapping):
        raise PlanModelError(f"{key_path(path) or 'values'}: expected a mapping for {cls.__name__}, got {data!r}")
    known = fields_of(cls)
    unknown = sorted(set(data) - {k for k, _, _ in known})
    if unknown:
        raise PlanModelError(f"{key_path(path) or 'values'}: {', '.join(unknown)} has no field in {cls.__name__}")
    kwargs: dict[str, Any] = {}
    for name, attribute, kind in known:
        if name in data:
            kwargs[attribute] = convert(kind, data[name], (*path, name))
        elif _optional(kind):
            kwargs[attribute] = None
        else:
            raise PlanModelError(f"{key_path((*path, name))}: missing, and {cls.__name__}.{attribute} has no default")
    return cls(**kwargs)


def convert(kind: Any, value: Any, path: KeyPath) -> Any:
    """`value` as the type `kind`: a dataclass, an optional, a tuple, a read-only mapping or a scalar."""
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if dataclasses.is_dataclass(kind) and isinstance(kind, type):
        return build(kind, value, path)
    if origin in (types.UnionType, typing.Union):
        if value is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return convert(inner, value, path)
    if origin is tuple:
        return tuple(convert(args[0], item, (*path, i)) for i, item in enumerate(_list(value, path)))
    if origin is Mapping or origin is dict:
        return types.MappingProxyType({k: convert(args[1], v, (*path, k)) for k, v in _mapping(value, path).items()})
    return _scalar(kind, value, path)


def frozen(value: Any) -> Any:
    """Plain data made read-only all the way down: mappings become read-only views, lists tuples."""
    if isinstance(value, Mapping):
        return types.MappingProxyType({key: frozen(item) for key, item in value.items()})
    if isinstance(value, list | tuple):
        return tuple(frozen(item) for item in value)
    return value


def _scalar(kind: Any, value: Any, path: KeyPath) -> Any:
    """A scalar of the declared type (Any: plain data, frozen); an int where a float is declared is widened."""
    if kind is Any:
        return frozen(value)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise PlanModelError(f"{key_path(path)}: expected {kind.__name__}, got {value!r}")
    return value


def _list(value: Any, path: KeyPath) -> list[Any]:
    if not isinstance(value, list):
        raise PlanModelError(f"{key_path(path)}: expected a list, got {value!r}")
    return value


def _mapping(value: Any, path: KeyPath) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise PlanModelError(f"{key_path(path)}: expected a mapping, got {value!r}")
    return value


def _optional(kind: Any) -> bool:
    """Whether a field's type admits None."""
    return typing.get_origin(kind) in (types.UnionType, typing.Union) and type(None) in typing.get_args(kind)
