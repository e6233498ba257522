"""The canonical YAML dump, byte for byte PyYAML's, without PyYAML's event machinery.

Dumping was most of what was left of `render` and `check` (issue 20: PyYAML 59-69 % of their own
time at 100 environments), and most of that was machinery rather than text: a representer builds
nodes, a serializer turns them into events, the emitter's state machine buffers and dispatches
them, and every scalar is analysed character by character, however often it recurs. No other
library writes what PyYAML writes (bench/libraries.py: yaml-rs and ryaml quote, fold and indent
differently, rapidyaml dumps no Python data), and the committed files must not change by a byte.

So `dump` walks the document itself and does what that machinery would, in the same order: the
representer's tags and styles, the resolver's implicit-tag test, the emitter's indentation and its
choice of scalar style, using PyYAML's own Emitter for every decision and every character it
writes, but for two things done faster to the same result: the analysis of a multi-line ASCII
string (by substring search) and the writing of a literal block (a line at a time). What it adds is memory:
a scalar's analysis, its implicit tag and its style are computed once per distinct value; a plain
scalar that cannot fold (no space, or it fits the line) is written at once; any other scalar is
written once per string and position, then replayed.
Anything it was not written for (a type the safe representer does not know, a key PyYAML would
write in the `? ` form, a tag) is dumped by PyYAML itself. tests/unit/test_yamlemit.py compares
both on the committed render and on generated documents full of awkward strings.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import yaml
from yaml.emitter import Emitter, ScalarAnalysis
from yaml.nodes import ScalarNode
from yaml.resolver import Resolver

WIDTH = 64
STR, INT, FLOAT, BOOL, NULL = (f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "null"))
_MEMO_LIMIT = 65536  # entries per memo: a few distinct strings per resource, however many environments


class _Unsupported(Exception):
    """Something PyYAML itself must dump."""


class _CanonicalDumper(yaml.SafeDumper):
    """PyYAML's dumper with our choices: block literals for multi-line strings, indented sequences, no aliases."""

    def ignore_aliases(self, data: Any) -> bool:
        return True

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar(STR, value, style=style)


_CanonicalDumper.add_representer(str, _represent_str)


def pyyaml_dump(doc: Any) -> str:
    """The canonical dump by PyYAML's own machinery: the reference, and the fallback."""
    return yaml.dump(doc, Dumper=_CanonicalDumper, sort_keys=False, default_flow_style=False,
                     allow_unicode=True, width=WIDTH, explicit_start=True)


def dump(doc: Any) -> str:
    """The canonical YAML of a document, exactly as `pyyaml_dump` writes it."""
    emitter = _Emitter()
    try:
        emitter.document(doc)
    except _Unsupported:
        return pyyaml_dump(doc)
    return "".join(emitter.parts)


class _Event:
    """The two fields of a scalar event that the emitter's style choice reads."""

    __slots__ = ("style", "implicit")

    def __init__(self, style: str | None, implicit: tuple[bool, bool]) -> None:
        self.style = style
        self.implicit = implicit


# Shared by every dump of the process: what PyYAML decides and writes for a scalar, by string and context.
_DECISIONS: dict[tuple[type, Any, bool], tuple[str, str]] = {}
_WRITES: dict[tuple[Any, ...], tuple[str, int, bool, bool, bool]] = {}


class _Emitter(Emitter, Resolver):
    """PyYAML's emitter driven directly by the document, as the canonical dumper would drive it."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        Emitter.__init__(self, self, canonical=False, indent=2, width=WIDTH, allow_unicode=True, line_break="\n")
        Resolver.__init__(self)
        self.stream = self  # the emitter writes to self.write
        self.tag_prefixes = dict(self.DEFAULT_TAG_PREFIXES)  # what a document start sets

    def write(self, data: str) -> None:
        """The stream the emitter writes to."""
        self.parts.append(data)

    # -- document, mapping, sequence: the states the emitter would pass through --------------

    def document(self, doc: Any) -> None:
        """An explicit document start, the root node, an implicit end, the end of the stream."""
        if type(doc) not in (dict, list):
            raise _Unsupported  # a scalar document ends open (`...`) by rules not repeated here
        self.write_indent()
        self.write_indicator("---", True)
        self.node(doc)
        self.write_indent()
        if self.open_ended:
            self.write_indicator("...", True)
            self.write_indent()

    def node(self, value: Any, mapping: bool = False, simple_key: bool = False) -> None:
        """Any node: a block collection, an empty one in flow style, or a scalar."""
        kind = type(value)
        if kind is dict:
            if value:
                self.block_mapping(value)
            else:
                self.empty("{", "}")
        elif kind is list:
            if value:
                self.block_sequence(value)
            else:
                self.empty("[", "]")
        else:
            self.scalar(value, simple_key)

    def block_mapping(self, mapping: dict[Any, Any]) -> None:
        """Each key on its own line at the mapping's indent, `key:`, then its value."""
        self.increase_indent(flow=False)
        for key, value in mapping.items():
            self.write_indent()
            self.simple_key(key)
            self.write_indicator(":", False)
            self.node(value, mapping=True)
        self.indent = self.indents.pop()

    def block_sequence(self, sequence: list[Any]) -> None:
        """Each item after `-`, indented under its key (the canonical dumper never writes indentless ones)."""
        self.increase_indent(flow=False)
        for item in sequence:
            self.write_indent()
            self.write_indicator("-", True, indention=True)
            self.node(item)
        self.indent = self.indents.pop()

    def empty(self, start: str, end: str) -> None:
        """`{}` or `[]`: the emitter's flow style for an empty collection."""
        self.write_indicator(start, True, whitespace=True)
        self.increase_indent(flow=True)
        self.indent = self.indents.pop()
        self.write_indicator(end, False)

    def simple_key(self, key: Any) -> None:
        """A key as the emitter writes it when `check_simple_key` holds; anything else is PyYAML's to write."""
        if type(key) in (dict, list):
            raise _Unsupported
        self.scalar(key, simple_key=True)

    # -- scalars -------------------------------------------------------------------------------

    def scalar(self, value: Any, simple_key: bool = False) -> None:
        """A scalar in the style the emitter would choose, one indent deeper, as `expect_scalar` writes it."""
        key = (type(value), value, simple_key)  # the type: True and 1 are equal keys, and different scalars
        decided = _DECISIONS.get(key)
        if decided is None:
            if len(_DECISIONS) >= _MEMO_LIMIT:
                _DECISIONS.clear()
            decided = _DECISIONS[key] = self.decide(value, simple_key)
        text, style = decided
        indent = self.indent
        self.indent = (indent or 0) + self.best_indent  # `increase_indent(flow=True)`, popped below
        if style == "":
            self.plain(text, not simple_key)
        else:
            self.replayed(style, text, not simple_key)
        self.indent = indent

    def decide(self, value: Any, simple_key: bool) -> tuple[str, str]:
        """(text, style) of a scalar: the representer's text, the emitter's style; _Unsupported where PyYAML
        would write a tag, or a key in the `? ` form."""
        text, tag, hint = _represent(value)
        analysis = fast_analysis(text) or self.analyze_scalar(text)
        if simple_key and (len(self.prepare_tag(tag)) + len(analysis.scalar) >= 128 or analysis.empty
                           or analysis.multiline):
            raise _Unsupported  # `check_simple_key` fails: it counts the tag (`!!str`) though none is written
        implicit = (tag == self.resolve(ScalarNode, text, (True, False)), tag == STR)
        self.event = _Event(hint, implicit)  # type: ignore[assignment]
        self.analysis, self.simple_key_context = analysis, simple_key
        try:
            style = str(self.choose_scalar_style())
        finally:
            self.event, self.analysis = None, None
        if not ((style == "" and implicit[0]) or (style != "" and implicit[1])):
            raise _Unsupported  # PyYAML would write a tag
        return text, style

    def plain(self, text: str, split: bool) -> None:
        """`write_plain`, at once when it cannot fold: no space to fold at, or the text fits the line."""
        if not text:
            return
        lead = "" if self.whitespace else " "
        if " " in text and split and self.column + len(lead) + len(text) > self.best_width:
            self.write_plain(text, split)
            return
        self.write(lead + text)
        self.column += len(lead) + len(text)
        self.whitespace = self.indention = False

    def replayed(self, style: str, text: str, split: bool) -> None:
        """A quoted or literal scalar: written by PyYAML once per string and position, then replayed."""
        key = (style, text, split, self.indent, self.column, self.whitespace, self.indention, self.open_ended)
        found = _WRITES.get(key)
        if found is None:
            start = len(self.parts)
            if style == "|" and not _OTHER_BREAKS.search(text):
                self.literal(text)
            else:
                {"'": self.write_single_quoted, '"': self.write_double_quoted}.get(style, self._block(style))(text, split)
            found = ("".join(self.parts[start:]), self.column, self.whitespace, self.indention, self.open_ended)
            del self.parts[start:]
            if len(_WRITES) >= _MEMO_LIMIT:
                _WRITES.clear()
            _WRITES[key] = found
        self.write(found[0])
        self.column, self.whitespace, self.indention, self.open_ended = found[1:]

    def literal(self, text: str) -> None:
        """`write_literal` for text whose only line break is `\n`, a line at a time instead of a character.

        PyYAML writes each `\n` as a line break, and before each run of other characters the scalar's
        indentation, so an empty line gets no indentation; text that does not end with a line break
        gets one. Its state after: a line break just written."""
        hints = self.determine_block_hints(text)
        self.write_indicator("|" + hints, True)
        if hints[-1:] == "+":
            self.open_ended = True
        self.write_line_break()
        indent = " " * (self.indent or 0)
        *lines, last = text.split("\n")
        self.write("".join(f"{indent}{line}\n" if line else "\n" for line in lines) + (f"{indent}{last}\n" if last else ""))
        self.column, self.whitespace, self.indention = 0, True, True

    def _block(self, style: str) -> Callable[[str, bool], None]:
        """The writer of a block scalar style (its `split` does not apply)."""
        writer = self.write_literal if style == "|" else self.write_folded
        return lambda text, _split: writer(text)


# Line breaks besides `\n`, which PyYAML writes as themselves.
_OTHER_BREAKS = re.compile("[\x85\u2028\u2029]")
# What `analyze_scalar` calls special in ASCII text: control characters but `\n`, and DEL.
_ASCII_SPECIAL = re.compile("[\x00-\x09\x0b-\x1f\x7f]")


def fast_analysis(text: str) -> ScalarAnalysis | None:
    """`Emitter.analyze_scalar` of an ASCII string holding a line break, without its loop over every
    character; None for any other string.

    A line break rules out both plain styles, so the flow and block indicators it looks for change
    nothing; what remains is whether a control character occurs and where spaces and line breaks
    meet. ASCII only: the printable Unicode ranges would cost a regular expression that takes 4 ms to
    compile (tests/unit/test_yamlemit.py compares both on generated strings)."""
    if "\n" not in text or not text.isascii():
        return None
    special = _ASCII_SPECIAL.search(text) is not None
    space_break, break_space = " \n" in text, "\n " in text
    return ScalarAnalysis(scalar=text, empty=False, multiline=True, allow_flow_plain=False, allow_block_plain=False,
                          allow_single_quoted=not (break_space or space_break or special), allow_double_quoted=True,
                          allow_block=not (text[-1] == " " or space_break or special))


def _represent(value: Any) -> tuple[str, str, str | None]:
    """(text, tag, style hint) as the safe representer and our string representer make a scalar node."""
    kind = type(value)
    if kind is str:
        return value, STR, "|" if "\n" in value else None
    if kind is bool:
        return ("true" if value else "false"), BOOL, None
    if kind is int:
        return str(value), INT, None
    if kind is float:
        return _float_text(value), FLOAT, None
    if value is None:
        return "null", NULL, None
    raise _Unsupported


def _float_text(value: float) -> str:
    """SafeRepresenter.represent_float's text."""
    if value != value or (value == 0.0 and value == 1.0):
        return ".nan"
    if value == float("inf"):
        return ".inf"
    if value == -float("inf"):
        return "-.inf"
    text = repr(value).lower()
    # Note that in some cases `repr(data)` represents a float number without the decimal parts.
    if "." not in text and "e" in text:
        text = text.replace("e", ".0e", 1)
    return text
