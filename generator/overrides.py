"""Overrides: `-f FILE` and `--set path=value` as values layers above an environment's files, Helm's way.

Layers, lowest first: the schema's defaults, values/_shared.yaml, values/<env>.yaml, then each `-f`
in the order given, then each `--set` in the order given (as in Helm, `--set` wins over `-f`
wherever it stands on the command line). Each override is its own layer with its own name, so a
value it sets that the schema refuses is reported against it: `--set llama.contextSize::...`.

A `--set` value is typed by the schema at its path, so no quoting games are needed:
`--set llama.contextSize=8192` is an integer, `--set llama.resources.limits.cpu=2` the string "2"
(a quantity), `--set llama.embeddings=false` a boolean. A value that does not convert stays text and
the schema check reports it with what was expected. Lists and maps (and keys the schema does not
know) take a YAML value: `--set 'kubernetesVersions=["1.34", "1.35"]'`. Paths are keys joined by
dots, list items by index (`kubernetesVersions[1]=1.35`, or one past the end to append), and a dot
inside a key is escaped (`nodeSelector.kubernetes\\.io/arch=amd64`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from . import yamlio
from .errors import ValuesError
from .problems import KeyPath, key_path
from .settings import Override
from .values import Extra, Layer, merge, parse_layer, resolve_ref

KEY = re.compile(r"(?:\\[.\[\]\\=]|[^.\[\]\\=])+")  # a key: anything but . [ ] = unless escaped
INDEX = re.compile(r"\[(0|[1-9][0-9]*)\]")
INTEGER = re.compile(r"[-+]?[0-9]+")
NUMBER = re.compile(r"[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
BOOLEANS = {"true": True, "false": False}
SYNTAX = r"write keys as a.b.c, a list item as a[0], a dot inside a key as \."


@dataclass(frozen=True)
class Assignment:
    """One `--set`, parsed: where it came from, the key path, and the value typed by the schema."""

    source: str  # `--set llama.contextSize`
    path: KeyPath
    value: Any


def parse_path(text: str, source: str) -> KeyPath:
    """`llama.resources.limits.cpu` or `kubernetesVersions[1]` as a key path; bad syntax names the column."""
    parts: list[str | int] = []
    pos = 0
    match = KEY.match(text, pos)
    if not match:
        raise _syntax(source, text, pos, "a key")
    parts.append(_unescape(match.group()))
    pos = match.end()
    while pos < len(text):
        if text[pos] == "." and (match := KEY.match(text, pos + 1)):
            parts.append(_unescape(match.group()))
        elif match := INDEX.match(text, pos):
            parts.append(int(match.group(1)))
        else:
            raise _syntax(source, text, pos, "a key after '.'" if text[pos] == "." else "'.' or a list index [N]")
        pos = match.end()
    return tuple(parts)


def _unescape(key: str) -> str:
    """A key with its backslash escapes removed."""
    return re.sub(r"\\(.)", r"\1", key)


def _syntax(source: str, text: str, pos: int, expected: str) -> ValuesError:
    """`--set a..b=1: bad path 'a..b' at character 3: expected a key after '.' (...)`."""
    return ValuesError(f"{source}: bad path {text!r} at character {pos + 1}: expected {expected} ({SYNTAX})")


def split_assignment(override: Override) -> tuple[str, str]:
    """`path=value` split at the first `=`."""
    path, equals, value = override.text.partition("=")
    if not equals:
        raise ValuesError(f"--set {override.text}: expected PATH=VALUE, such as llama.contextSize=8192")
    return path, value


def subschema(schema: Mapping[str, Any], path: KeyPath) -> Mapping[str, Any] | None:
    """The schema of the value at `path` (references resolved), or None where the schema knows no such key."""
    node: Any = _resolved(schema, schema)
    for part in path:
        if isinstance(part, int):
            node = node.get("items")
        elif part in node.get("properties", {}):
            node = node["properties"][part]
        else:
            node = node.get("additionalProperties")
        if not isinstance(node, Mapping):
            return None
        node = _resolved(node, schema)
    return node


def _resolved(node: Mapping[str, Any], root: Mapping[str, Any]) -> Mapping[str, Any]:
    """A node with a local `$ref` target merged under its own keywords."""
    if "$ref" not in node:
        return node
    return {**_resolved(resolve_ref(root, node["$ref"]), root), **{k: v for k, v in node.items() if k != "$ref"}}


def typed(raw: str, node: Mapping[str, Any] | None, source: str) -> Any:
    """The value of `raw` as the schema's type at its path; text that does not convert stays text."""
    kind = node.get("type") if node is not None else None
    if kind == "string":
        return raw
    if kind == "integer":
        return int(raw) if INTEGER.fullmatch(raw) else raw
    if kind == "number":
        return int(raw) if INTEGER.fullmatch(raw) else float(raw) if NUMBER.fullmatch(raw) else raw
    if kind == "boolean":
        return BOOLEANS.get(raw, raw)
    try:  # a list, a map, or a key the schema does not know (the schema check names it)
        return yamlio.load_one(raw)
    except yamlio.YAMLError as err:
        raise ValuesError(f"{source}: {raw!r} is not a valid YAML value: {yamlio.problem_text(err)}") from err


def assignment(override: Override, schema: Mapping[str, Any]) -> Assignment:
    """One `--set`, parsed and typed."""
    text, raw = split_assignment(override)
    source = f"--set {text}"
    path = parse_path(text, source)
    return Assignment(source, path, typed(raw, subschema(schema, path), source))


def place(path: KeyPath, value: Any, below: Any, whole: bool = False) -> Any:
    """The layer data that sets `path` to `value` over `below`, the merged values under it.

    Maps merge key by key, so down to the first list the data is just the path. Lists are replaced
    whole, so a list on the way is copied from `below` with the one item changed, and so is all of
    that item (`whole`).
    """
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(head, int):
        items = list(below) if isinstance(below, list) else [] if below is None else None
        if items is None or head > len(items):
            raise IndexError  # set_layer says why, from the whole path
        current = items[head] if head < len(items) else None
        items[head:head + 1] = [place(rest, value, current, whole=True)]
        return items
    current = below.get(head) if isinstance(below, dict) else None
    inner = place(rest, value, current, whole)
    return {**(below if whole and isinstance(below, dict) else {}), head: inner}


def set_layer(item: Assignment, below: dict[str, Any]) -> Layer:
    """The layer of one `--set` over the values merged below it."""
    try:
        data = place(item.path, item.value, below)
    except IndexError as err:
        raise ValuesError(f"{item.source}: no list item {key_path(item.path)}: "
                          f"{_list_problem(item.path, below)}") from err
    return Layer(item.source, data, {item.path: 0})


def _list_problem(path: KeyPath, below: Any) -> str:
    """Why an index in `path` does not fit what is below it."""
    node = below
    for depth, part in enumerate(path):
        if isinstance(part, int):
            where = key_path(path[:depth]) or "the top level"
            if not isinstance(node, list):
                return f"{where} is {type(node).__name__ if node is not None else 'not set'}, not a list"
            if part > len(node):
                return f"{where} has {len(node)} item(s); an index may be at most {len(node)} (to append)"
            node = node[part] if part < len(node) else None
        else:
            node = node.get(part) if isinstance(node, dict) else None
    return "the path does not fit the values"


def file_layer(override: Override) -> Layer:
    """A `-f` file as a layer named by its path (or `(stdin)`), with the line of every key."""
    return parse_layer(override.text, override.source)


def extra_layers(overrides: Sequence[Override], schema: Mapping[str, Any]) -> Extra | None:
    """What `values` places above each environment's files: every `-f`, then every `--set`, in order.

    Parsed once, here, so a bad override is reported once, not once per environment.
    """
    if not overrides:
        return None
    files = [file_layer(o) for o in overrides if o.kind == "file"]
    sets = [assignment(o, schema) for o in overrides if o.kind == "set"]

    def layers(below: dict[str, Any]) -> list[Layer]:
        out: list[Layer] = []
        merged = below
        for layer in files:
            out.append(layer)
            merged = merge(merged, layer.data)
        for item in sets:
            layer = set_layer(item, merged)
            out.append(layer)
            merged = merge(merged, layer.data)
        return out

    return layers

