"""Overrides as pure functions: --set paths, values typed by the schema, placing a value over the layers below."""

from __future__ import annotations

import json
from typing import Any

import pytest

from generator.errors import ValuesError
from generator.overrides import assignment, parse_path, place, subschema, typed
from generator.settings import Override
from tests.conftest import REPO

SCHEMA = json.loads((REPO / "schemas/values.schema.json").read_text())


@pytest.mark.parametrize(("text", "expected"), [
    ("hostname", ("hostname",)),
    ("llama.resources.limits.cpu", ("llama", "resources", "limits", "cpu")),
    ("kubernetesVersions[1]", ("kubernetesVersions", 1)),
    ("a[0][2].b", ("a", 0, 2, "b")),
    (r"nodeSelector.kubernetes\.io/arch", ("nodeSelector", "kubernetes.io/arch")),
    (r"acknowledge.a\[b\]", ("acknowledge", "a[b]")),
])
def test_paths(text: str, expected: tuple[str | int, ...]) -> None:
    assert parse_path(text, "--set x") == expected


@pytest.mark.parametrize(("text", "message"), [
    ("", "--set : bad path '' at character 1: expected a key"),
    ("llama..contextSize", "--set x: bad path 'llama..contextSize' at character 6: expected a key after '.'"),
    ("llama.", "--set x: bad path 'llama.' at character 6: expected a key after '.'"),
    (".llama", "--set x: bad path '.llama' at character 1: expected a key"),
    ("versions[x]", "--set x: bad path 'versions[x]' at character 9: expected '.' or a list index [N]"),
    ("versions[01]", "--set x: bad path 'versions[01]' at character 9: expected '.' or a list index [N]"),
    ("versions[-1]", "--set x: bad path 'versions[-1]' at character 9: expected '.' or a list index [N]"),
    ("a]b", "--set x: bad path 'a]b' at character 2: expected '.' or a list index [N]"),
])
def test_bad_paths_name_the_character_and_the_syntax(text: str, message: str) -> None:
    source = "--set " if text == "" else "--set x"
    with pytest.raises(ValuesError) as raised:
        parse_path(text, source)
    assert raised.value.message.startswith(message)
    assert raised.value.message.endswith(r"(write keys as a.b.c, a list item as a[0], a dot inside a key as \.)")


@pytest.mark.parametrize(("path", "kind"), [
    (("llama", "contextSize"), "integer"),
    (("llama", "image"), "string"),  # through a $ref
    (("llama", "resources", "limits", "cpu"), "string"),  # $ref → $ref
    (("llama", "startup", "minDownloadMiBps"), "number"),
    (("llama", "embeddings"), "boolean"),
    (("kubernetesVersions", 0), "string"),
    (("nodeSelector", "kubernetes.io/arch"), "string"),  # additionalProperties
    (("llama",), "object"),
])
def test_the_schema_at_a_path(path: tuple[str | int, ...], kind: str) -> None:
    node = subschema(SCHEMA, path)
    assert node is not None and node.get("type") == kind


def test_a_path_the_schema_does_not_know_has_no_schema() -> None:
    assert subschema(SCHEMA, ("llama", "contextSise")) is None
    assert subschema(SCHEMA, ("hostname", "deeper")) is None


@pytest.mark.parametrize(("path", "raw", "expected"), [
    ("llama.contextSize", "8192", 8192),
    ("llama.contextSize", "lots", "lots"),  # left as text: the schema check reports it, with the description
    ("llama.contextSize", "8192.5", "8192.5"),
    ("llama.resources.limits.cpu", "2", "2"),  # a quantity is a string: no --set-string needed
    ("hostname", "1234", "1234"),
    ("hostname", "", ""),
    ("llama.startup.minDownloadMiBps", "2.5", 2.5),
    ("llama.startup.minDownloadMiBps", "3", 3),
    ("llama.embeddings", "false", False),
    ("llama.embeddings", "no", "no"),  # YAML 1.1's booleans are not ours
    ("kubernetesVersions", '["1.34", "1.35"]', ["1.34", "1.35"]),
    ("kubernetesVersions[0]", "1.35", "1.35"),
    ("llama.resources.limits", "{cpu: '2', memory: 4Gi}", {"cpu": "2", "memory": "4Gi"}),
    ("llama.contextSise", "4096", 4096),  # unknown to the schema: YAML, and the schema check names the key
])
def test_values_are_typed_by_the_schema(path: str, raw: str, expected: Any) -> None:
    item = assignment(Override(f"--set {path}", f"{path}={raw}", "set"), SCHEMA)
    assert item.value == expected and type(item.value) is type(expected)


def test_a_value_that_is_not_yaml_where_yaml_is_expected() -> None:
    with pytest.raises(ValuesError) as raised:
        typed("[1.34", subschema(SCHEMA, ("kubernetesVersions",)), "--set kubernetesVersions")
    assert raised.value.message.startswith("--set kubernetesVersions: '[1.34' is not a valid YAML value: ")


def test_an_assignment_needs_an_equals_sign() -> None:
    with pytest.raises(ValuesError) as raised:
        assignment(Override("--set llama.contextSize", "llama.contextSize", "set"), SCHEMA)
    assert raised.value.message == "--set llama.contextSize: expected PATH=VALUE, such as llama.contextSize=8192"


@pytest.mark.parametrize(("path", "below", "expected"), [
    (("llama", "contextSize"), {"llama": {"threads": 2}}, {"llama": {"contextSize": 1}}),  # maps merge later
    (("versions", 1), {"versions": ["a", "b", "c"]}, {"versions": ["a", 1, "c"]}),  # lists are replaced whole
    (("versions", 2), {"versions": ["a", "b"]}, {"versions": ["a", "b", 1]}),  # one past the end appends
    (("versions", 0), {}, {"versions": [1]}),
    (("items", 0, "b"), {"items": [{"a": 0, "b": 0}]}, {"items": [{"a": 0, "b": 1}]}),  # an item is kept whole
])
def test_placing_a_value_over_the_layers_below(path: tuple[str | int, ...], below: dict[str, Any],
                                                expected: dict[str, Any]) -> None:
    assert place(path, 1, below) == expected


@pytest.mark.parametrize(("path", "below"), [
    (("versions", 3), {"versions": ["a", "b"]}),
    (("versions", 0), {"versions": "a"}),
])
def test_an_index_that_does_not_fit(path: tuple[str | int, ...], below: dict[str, Any]) -> None:
    with pytest.raises(IndexError):
        place(path, 1, below)
