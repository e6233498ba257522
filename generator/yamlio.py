"""YAML in and out: the one strict loader and the one canonical dumper every stage uses.

Strict means what kubeconform's `-strict` means for YAML (yannh/kubeconform,
pkg/validator/validator.go: `yaml.UnmarshalStrict`): a key given twice is an error, because the
API server would silently keep only one of the two values. Render parses its templates' output
with it, `validate` and `diff` read manifests with it, and the values stage composes with it.
Canonical means: block literals for multi-line strings, indented sequences, no aliases, key
order as built, LF and one trailing newline, so a reviewer's diff shows only what changed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.constructor import ConstructorError
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


# -- reading -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Document:
    """One YAML document of a stream: its 0-based index and its data, or why it has none."""

    index: int
    data: Any = None
    error: str = ""  # why it could not be loaded: `duplicate key 'a' (first at line 2, column 1)`
    where: str = ""  # `line 3, column 5`


def load_documents(text: str) -> Iterator[Document]:
    """Every non-empty document of a stream; a syntax error ends the stream with one error."""
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


def load_one(text: str) -> Any:
    """The one document of a stream, strictly; raises yaml.YAMLError (DuplicateKeyError included)."""
    return yaml.load(text, Loader=StrictSafeLoader)


def compose(text: str) -> Node | None:
    """The node graph of one hand-written document, for stages that keep line numbers (values files)."""
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
