"""Fields: the differences between two versions of one resource, each at a path a reviewer can read.

Paths: map keys dotted (`spec.replicas`; a key with a dot is quoted: `data["nginx.conf"]`), lists
of named maps by name (`containers[llama-server]`), other lists by index. A list of scalars shows
each changed segment with one item of context (`-c 4096 → -c 8192`); a multi-line string shows a
unified diff of its lines. Pure functions only: no files, no git, no output format.
"""

from __future__ import annotations

import difflib
import enum
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

ARROW = "→"
_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_/-]+$")


class Op(enum.Enum):
    """What happened at a path."""

    CHANGED = "changed"  # before → after
    ADDED = "added"  # + after
    REMOVED = "removed"  # - before
    TEXT = "text"  # a multi-line string: `lines` holds its unified diff


@dataclass(frozen=True)
class FieldChange:
    """One difference: where, what happened, and the values as a reviewer reads them."""

    path: str
    op: Op
    before: str = ""
    after: str = ""
    lines: tuple[str, ...] = ()

    def __str__(self) -> str:
        """The one-line form: `path: before → after`, `path: + after`, `path: - before`, `path:`."""
        if self.op is Op.CHANGED:
            return f"{self.path}: {self.before} {ARROW} {self.after}"
        if self.op is Op.ADDED:
            return f"{self.path}: + {self.after}"
        if self.op is Op.REMOVED:
            return f"{self.path}: - {self.before}"
        return f"{self.path}:"


def diff_fields(before: Any, after: Any, path: str = "") -> list[FieldChange]:
    """Every difference between two values (two parsed documents, or any part of them)."""
    if _same(before, after):
        return []
    if isinstance(before, dict) and isinstance(after, dict):
        return _diff_maps(before, after, path)
    if isinstance(before, list) and isinstance(after, list):
        return _diff_lists(before, after, path)
    if isinstance(before, str) and isinstance(after, str) and ("\n" in before or "\n" in after):
        return [text_change(path, before, after)]
    return [FieldChange(path, Op.CHANGED, *show_pair(before, after))]


def added(path: str, value: Any) -> FieldChange:
    """A value that only the new version has."""
    if _is_text(value):
        return text_change(path, "", value)
    return FieldChange(path, Op.ADDED, after=show(value))


def removed(path: str, value: Any) -> FieldChange:
    """A value that only the old version has."""
    if _is_text(value):
        return text_change(path, value, "")
    return FieldChange(path, Op.REMOVED, before=show(value))


def _same(before: Any, after: Any) -> bool:
    """Equal and of the same types all the way down: `1`, `True` and `"1"` differ in a manifest."""
    if type(before) is not type(after):
        return False
    return before == after if _is_scalar(before) else _token(before) == _token(after)


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and "\n" in value


# -- maps and lists ----------------------------------------------------------------------------


def key_path(path: str, key: Any) -> str:
    """`spec` + `replicas` → `spec.replicas`; a key that is not a plain word is quoted: `data["nginx.conf"]`."""
    text = str(key)
    if not _PLAIN_KEY.match(text):
        return f"{path}[{json.dumps(text, ensure_ascii=False)}]"
    return f"{path}.{text}" if path else text


def _diff_maps(before: dict[Any, Any], after: dict[Any, Any], path: str) -> list[FieldChange]:
    """Keys in the old order, then the keys only the new version has."""
    out: list[FieldChange] = []
    for key in dict.fromkeys([*before, *after]):
        sub = key_path(path, key)
        if key not in after:
            out.append(removed(sub, before[key]))
        elif key not in before:
            out.append(added(sub, after[key]))
        else:
            out.extend(diff_fields(before[key], after[key], sub))
    return out


def _diff_lists(before: list[Any], after: list[Any], path: str) -> list[FieldChange]:
    """Scalars by segment, named maps by name, anything else by index."""
    if all(_is_scalar(item) for item in (*before, *after)):
        return diff_scalar_list(before, after, path)
    before_names, after_names = list_names(before), list_names(after)
    if before_names is not None and after_names is not None:
        return _diff_named(before, after, before_names, after_names, path)
    out: list[FieldChange] = []
    for index in range(max(len(before), len(after))):
        sub = f"{path}[{index}]"
        if index >= len(after):
            out.append(removed(sub, before[index]))
        elif index >= len(before):
            out.append(added(sub, after[index]))
        else:
            out.extend(diff_fields(before[index], after[index], sub))
    return out


def list_names(items: list[Any]) -> list[str] | None:
    """The `name` of every item when each is a map with a distinct string `name`, else None."""
    names = [item.get("name") if isinstance(item, dict) else None for item in items]
    if all(isinstance(name, str) for name in names) and len(set(names)) == len(names):
        return names  # type: ignore[return-value]
    return None


def _diff_named(before: list[Any], after: list[Any], before_names: list[str], after_names: list[str],
                path: str) -> list[FieldChange]:
    """Items matched by name (`containers[llama-server]`), then a change of their order, if any."""
    old, new = dict(zip(before_names, before, strict=True)), dict(zip(after_names, after, strict=True))
    out: list[FieldChange] = []
    for name in dict.fromkeys([*before_names, *after_names]):
        sub = f"{path}[{name}]"
        if name not in new:
            out.append(removed(sub, old[name]))
        elif name not in old:
            out.append(added(sub, new[name]))
        else:
            out.extend(diff_fields(old[name], new[name], sub))
    kept_before = [name for name in before_names if name in new]
    kept_after = [name for name in after_names if name in old]
    if kept_before != kept_after:
        out.append(FieldChange(f"{path} (order)", Op.CHANGED, ", ".join(kept_before), ", ".join(kept_after)))
    return out


# -- lists of scalars --------------------------------------------------------------------------


def diff_scalar_list(before: Sequence[Any], after: Sequence[Any], path: str) -> list[FieldChange]:
    """One change per edited segment: replaced with one item of context, inserted or deleted bare."""
    old, new = [show_item(item) for item in before], [show_item(item) for item in after]
    old_tokens, new_tokens = [_token(item) for item in before], [_token(item) for item in after]
    matcher = difflib.SequenceMatcher(None, old_tokens, new_tokens, autojunk=False)
    out = []
    for tag, i1, i2, j1, j2 in _split_replacements(matcher.get_opcodes()):
        if tag == "insert":
            out.append(FieldChange(path, Op.ADDED, after=" ".join(new[j1:j2]) + _position(new, j1, j2)))
        elif tag == "delete":
            out.append(FieldChange(path, Op.REMOVED, before=" ".join(old[i1:i2]) + _position(old, i1, i2)))
        elif tag == "replace":
            lead, trail = (old[i1 - 1:i1], []) if i1 > 0 else ([], old[i2:i2 + 1])
            pair = " ".join([*lead, *old[i1:i2], *trail]), " ".join([*lead, *new[j1:j2], *trail])
            if pair[0] == pair[1]:  # only types differ: show the replaced items quoted
                pair = " ".join([*lead, *old_tokens[i1:i2], *trail]), " ".join([*lead, *new_tokens[j1:j2], *trail])
            out.append(FieldChange(path, Op.CHANGED, *pair))
    return out


Opcode = tuple[str, int, int, int, int]


def _split_replacements(opcodes: Sequence[Opcode]) -> Iterator[Opcode]:
    """A replacement of unequal length → a replacement item for item, then the rest as inserted or deleted.

    `--timeout 600 --embeddings` → `--timeout 900` reads as `600 → 900` and `- --embeddings`,
    not as one replacement of two items by one.
    """
    for tag, i1, i2, j1, j2 in opcodes:
        common = min(i2 - i1, j2 - j1)
        if tag != "replace" or i2 - i1 == j2 - j1:
            yield tag, i1, i2, j1, j2
            continue
        yield "replace", i1, i1 + common, j1, j1 + common
        yield ("delete", i1 + common, i2, j2, j2) if i2 - i1 > common else ("insert", i2, i2, j1 + common, j2)


def _position(items: Sequence[str], start: int, end: int) -> str:
    """Where an inserted or deleted segment sits; nothing when it is at the end (appended, or cut off)."""
    if end == len(items):
        return ""
    return f" (after {items[start - 1]})" if start > 0 else f" (before {items[end]})"


def _token(item: Any) -> str:
    """A comparison key that tells `1` from `"1"`."""
    return json.dumps(item, sort_keys=True, ensure_ascii=False, default=repr)


def _is_scalar(value: Any) -> bool:
    return not isinstance(value, (dict, list))


# -- values as a reviewer reads them -----------------------------------------------------------


def show(value: Any) -> str:
    """A scalar as YAML would read it unquoted; a map or list on one line in flow style."""
    if isinstance(value, (dict, list)):
        return yaml.safe_dump(value, default_flow_style=True, sort_keys=False, allow_unicode=True,
                              width=1_000_000).strip()
    if isinstance(value, str):
        plain = value and value == value.strip() and "\n" not in value
        return value if plain else json.dumps(value, ensure_ascii=False)
    return json.dumps(value, default=str)  # null, true, 8000, 0.5; a YAML date as its string


def show_item(value: Any) -> str:
    """A list item: like `show`, but quoted when it holds a space, so items stay apart when joined."""
    text = show(value)
    return _token(value) if isinstance(value, str) and " " in text else text


def show_pair(before: Any, after: Any) -> tuple[str, str]:
    """Both sides shown; quoted when the plain forms would look equal (`8000 → "8000"`, a type change)."""
    old, new = show(before), show(after)
    if old == new:
        return _token(before), _token(after)
    return old, new


def text_change(path: str, before: str, after: str) -> FieldChange:
    """A multi-line string: the unified diff of its lines, hunk headers kept, file headers dropped."""
    lines = list(difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=3))[2:]
    if not lines:
        lines = ["\\ only the line endings or the final newline differ"]
    return FieldChange(path, Op.TEXT, lines=tuple(lines))
