"""YAML in and out: the one strict loader and the one canonical dumper every stage uses.

Strict means what kubeconform's `-strict` means for YAML (yannh/kubeconform,
pkg/validator/validator.go: `yaml.UnmarshalStrict`): a key given twice is an error, because the
API server would silently keep only one of the two values. Render parses its templates' output
with it, `validate` and `diff` read manifests with it, and the values stage composes with it.
Canonical means: block literals for multi-line strings, indented sequences, no aliases, key
order as built, LF and one trailing newline, so a reviewer's diff shows only what changed.
Bounded means: before anything is composed, one pass over the parser's events refuses a text whose
aliases would expand past a node count, whose nesting is deeper than a limit, or that is larger than
a size (`Limits`); a crafted file fails in time and memory proportional to its size.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.events import AliasEvent, CollectionEndEvent, CollectionStartEvent, DocumentStartEvent, ScalarEvent
from yaml.nodes import MappingNode, Node, ScalarNode

from . import yamlemit

try:  # libyaml's parser when PyYAML has it: parsing was most of a validation's time (see bench/)
    from yaml import CSafeLoader as _SafeLoader
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml import SafeLoader as _SafeLoader  # type: ignore[assignment]

YAMLError = yaml.YAMLError


class DuplicateKeyError(ConstructorError):
    """A mapping repeats a key."""


class _Strict(yaml.constructor.SafeConstructor):
    """SafeConstructor that raises DuplicateKeyError instead of keeping the last value."""

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        """Refuse a key seen before in this mapping, then construct as SafeLoader does."""
        seen: dict[Any, Node] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue  # `<<` merges may be overridden by explicit keys: YAML allows it
            key = self.construct_object(key_node, deep=True)
            if _hashable(key) and key in seen:
                raise DuplicateKeyError(None, None, _duplicate_message(key, seen[key]), key_node.start_mark)
            if _hashable(key):
                seen[key] = key_node
        return super().construct_mapping(node, deep=deep)


class StrictSafeLoader(_Strict, _SafeLoader):
    """The strict loader on libyaml's parser: manifests, which are many and machine-written."""


class StrictTextLoader(_Strict, yaml.SafeLoader):
    """The same rules on PyYAML's own parser, whose syntax errors read better (`expected ',' or ']',
    but got ':'` where libyaml says `did not find expected ',' or ']'`): values files, written by hand."""


# The API server reads YAML through JSON, where a timestamp is just a string (`date: 2025-01-01`).
def _timestamp_as_string(loader: yaml.SafeLoader, node: ScalarNode) -> str:
    """A YAML timestamp, kept as the string it is written as."""
    return str(loader.construct_scalar(node))


for _loader in (StrictSafeLoader, StrictTextLoader):
    _loader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_as_string)


def _hashable(key: Any) -> bool:
    """Whether a constructed key can be compared (a list key is left to SafeLoader's error)."""
    try:
        hash(key)
    except TypeError:
        return False
    return True


def _duplicate_message(key: Any, first: Node) -> str:
    """`duplicate key 'replicas' (first at line 7, column 3)`."""
    mark = first.start_mark
    return f"duplicate key {key!r} (first at line {mark.line + 1}, column {mark.column + 1})"


# -- bounds --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Limits:
    """What one YAML text may hold: far above any real file, far below what exhausts time or memory."""

    max_chars: int
    max_depth: int  # nested mappings and sequences
    max_nodes: int  # per document, counting every alias as the nodes it stands for


# A values file is a few hundred nodes, five levels deep, a few kilobytes.
VALUES_LIMITS = Limits(max_chars=1 << 20, max_depth=64, max_nodes=100_000)
# Manifests: the largest CRD bundles are a few MiB and about 10^5 nodes. The alias count is what
# Kubernetes itself had to bound: a 1 KB "billion laughs" document (CVE-2019-11253) expands to 10^9 nodes.
MANIFEST_LIMITS = Limits(max_chars=64 << 20, max_depth=256, max_nodes=1_000_000)


class LimitError(yaml.MarkedYAMLError):
    """A YAML text beyond its Limits: too large, too deep, too many nodes, or a recursive alias."""


def check_limits(text: str, limits: Limits, loader: type = yaml.SafeLoader) -> None:
    """Raise LimitError when the text crosses a limit; one pass over parser events, nothing composed.

    The parser keeps its own stack, so a 10,000-deep nesting that would exhaust the composer's
    recursion is measured here without recursing."""
    if len(text) > limits.max_chars:
        raise LimitError(problem=f"{len(text)} characters exceed the limit of {limits.max_chars}")
    sizes: dict[str, int] = {}  # anchor → the nodes it stands for
    stack: list[tuple[int, str | None]] = []  # open collections: (node count at their start, anchor)
    count = 0
    for event in yaml.parse(text, Loader=loader):
        if isinstance(event, DocumentStartEvent):
            sizes, count = {}, 0  # anchors and the node budget are per document
        elif isinstance(event, AliasEvent):
            if any(anchor == event.anchor for _, anchor in stack):
                raise _crossed(f"alias *{event.anchor} refers to a collection that contains it", event)
            count += sizes.get(str(event.anchor), 1)
        elif isinstance(event, ScalarEvent):
            count += 1
            if event.anchor:
                sizes[event.anchor] = 1
        elif isinstance(event, CollectionStartEvent):
            count += 1
            stack.append((count, event.anchor))
            if len(stack) > limits.max_depth:
                raise _crossed(f"nesting deeper than {limits.max_depth} levels", event)
        elif isinstance(event, CollectionEndEvent) and stack:
            start, anchor = stack.pop()
            if anchor:
                sizes[anchor] = count - start + 1
        if count > limits.max_nodes:
            raise _crossed(f"more than {limits.max_nodes} nodes once aliases are expanded", event)


def _crossed(problem: str, event: Any) -> LimitError:
    """A LimitError at an event (libyaml's and PyYAML's marks alike)."""
    return LimitError(problem=problem, problem_mark=event.start_mark)


# -- characters --------------------------------------------------------------------------------

# What a hand-written file may not contain, anywhere (comments included):
# - C0 and C1 control characters but tab, LF and CR, and DEL: invisible, and NUL ends C strings;
# - NEL (U+0085), LINE and PARAGRAPH SEPARATOR (U+2028/9): YAML 1.1 reads them as line breaks,
#   so PyYAML silently turns one inside a plain scalar into a space;
# - the bidirectional controls that lintian's unicode-trojan check lists for CVE-2021-42574
#   ("Trojan Source"): text that a reviewer reads in one order and a program in another;
# - a byte order mark anywhere but at the start, and lone surrogates (a `"\ud800"` escape).
_UNSAFE_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\u061c\u200e\u200f"
                          "\u202a-\u202e\u2066-\u2069\ufeff\ud800-\udfff]")
# A value may hold tabs and line feeds (block scalars), never a CR: YAML folds CRLF to LF.
_UNSAFE_VALUE = re.compile(_UNSAFE_TEXT.pattern.replace("\x0e", "\x0d\x0e"))
_CONTROL_NAMES = {0x00: "NUL", 0x0D: "CARRIAGE RETURN", 0x1B: "ESCAPE", 0x7F: "DELETE", 0x85: "NEXT LINE (NEL)"}


def unsafe_character(text: str, value: bool = False) -> tuple[int, str] | None:
    """(index, description) of the first character a values file or value may not hold, else None."""
    match = (_UNSAFE_VALUE if value else _UNSAFE_TEXT).search(text, 0 if value else int(text.startswith("\ufeff")))
    if match is None:
        return None
    return match.start(), describe(match.group())


def describe(char: str) -> str:
    """`U+202E RIGHT-TO-LEFT OVERRIDE`, `U+0000 NUL`, `U+0001 (a control character)`."""
    code = ord(char)
    if 0xD800 <= code <= 0xDFFF:
        return f"U+{code:04X} (a lone surrogate, not a character)"
    return f"U+{code:04X} " + (_CONTROL_NAMES.get(code) or unicodedata.name(char, "") or "(a control character)")


def position(text: str, index: int) -> tuple[int, int]:
    """1-based (line, column) of a character index."""
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


# -- reading -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Document:
    """One YAML document of a stream: its 0-based index and its data, or why it has none."""

    index: int
    data: Any = None
    error: str = ""  # why it could not be loaded: `duplicate key 'a' (first at line 2, column 1)`
    where: str = ""  # `line 3, column 5`


def load_documents(text: str, limits: Limits = MANIFEST_LIMITS) -> Iterator[Document]:
    """Every non-empty document of a stream; a syntax error or a crossed limit ends the stream with one error."""
    try:
        _check_manifest_limits(text, limits)
    except yaml.YAMLError as err:
        yield Document(0, error=problem_text(err), where=location(err))
        return
    loader = StrictSafeLoader(text)
    index = 0
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:  # check_node() said there is one; keeps the type checker informed
                break
            document = _construct(loader, node, index)
            if document.error or document.data is not None:
                yield document
            index += 1
    except yaml.YAMLError as err:
        yield Document(index, error=problem_text(err), where=location(err))
    finally:
        loader.dispose()


def load_one(text: str, limits: Limits = MANIFEST_LIMITS) -> Any:
    """The one document of a stream, strictly; raises yaml.YAMLError (DuplicateKeyError and LimitError included)."""
    _check_manifest_limits(text, limits)
    return yaml.load(text, Loader=StrictSafeLoader)


def _check_manifest_limits(text: str, limits: Limits) -> None:
    """The limits, checked on libyaml's parser; without an anchor nothing can expand, and libyaml
    bounds nesting itself, so only the size is measured (the event pass would add a third to a validation)."""
    if "&" in text or len(text) > limits.max_chars:
        check_limits(text, limits, _SafeLoader)


def compose(text: str, limits: Limits = VALUES_LIMITS) -> Node | None:
    """The node graph of one hand-written document, for stages that keep line numbers (values files);
    the limits are checked first, so composing (which recurses) never meets a crafted depth."""
    check_limits(text, limits)
    return yaml.compose(text, Loader=StrictTextLoader)


def construct_scalar(node: Node) -> Any:
    """A scalar node's value, typed as the strict loader types it (timestamps stay strings)."""
    return _SCALARS.construct_object(node)


_SCALARS = StrictTextLoader("")


def _construct(loader: StrictSafeLoader, node: Node, index: int) -> Document:
    """Construct one composed document; a constructor error spoils only this document."""
    try:
        return Document(index, data=loader.construct_document(node))
    except ConstructorError as err:
        _reset(loader)
        return Document(index, error=problem_text(err), where=location(err))


def _reset(loader: StrictSafeLoader) -> None:
    """Forget a half-constructed document so the next one starts clean."""
    loader.constructed_objects = {}
    loader.recursive_objects = {}
    loader.state_generators = []


def problem_text(err: yaml.YAMLError) -> str:
    """What PyYAML found wrong."""
    return str(getattr(err, "problem", None) or err)


def location(err: yaml.YAMLError) -> str:
    """`line 4, column 3` from a PyYAML error's mark, or '' without one."""
    mark = getattr(err, "problem_mark", None)
    return f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""


# -- writing -----------------------------------------------------------------------------------


def dump(doc: Any) -> str:
    """The canonical YAML of a document: key order as built, LF, one trailing newline (generator/yamlemit.py)."""
    return yamlemit.dump(doc)
