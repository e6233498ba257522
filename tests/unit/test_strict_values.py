"""Values are what they say: integers, end-anchored patterns, finite numbers, safe characters, bounded YAML."""

from __future__ import annotations

import re

import pytest

from generator import yamlio
from generator.errors import ValuesError
from generator.values import end_anchored, parse_layer, shown


@pytest.mark.parametrize(("pattern", "anchored"), [
    ("^a$", "^a\\Z"),
    ("^[$]$", "^[$]\\Z"),
    ("^[^]$]x$", "^[^]$]x\\Z"),
    ("^[]$]$", "^[]$]\\Z"),
    ("a\\$", "a\\$"),
    ("^a\\.b$", "^a\\.b\\Z"),  # an escape is copied whole, and what follows it read on
    ("(?=.{4,253}$)x", "(?=.{4,253}\\Z)x"),
    ("(?!latest(?:@|$))", "(?!latest(?:@|\\Z))"),
])
def test_end_anchored(pattern: str, anchored: str) -> None:
    assert end_anchored(pattern) == anchored
    re.compile(anchored)


def test_python_dollar_would_accept_a_trailing_newline() -> None:
    assert re.search("^gemma$", "gemma\n") and not re.search(end_anchored("^gemma$"), "gemma\n")


@pytest.mark.parametrize(("value", "text"), [
    ({"a": "ghp_secret"}, "a mapping"), ([1, 2], "a list"), ("lots", "'lots'"), (8080.0, "8080.0"),
    ("ghp_0123456789abcdefghijABCDEFGHIJ012345", "a value that looks like a credential (not shown)"),
    ("x" * 200, "'" + "x" * 76 + "..."),
    ("x" * 78, "'" + "x" * 78 + "'"),  # 80 characters shown: the longest shown whole
    ("x" * 79, "'" + "x" * 76 + "..."),
])
def test_shown(value: object, text: str) -> None:
    assert shown(value) == text


@pytest.mark.parametrize(("text", "index", "what"), [
    ("a: b\x85c", 4, "U+0085 NEXT LINE (NEL)"),
    ("a: b\u2028c", 4, "U+2028 LINE SEPARATOR"),
    ("# \u202e comment", 2, "U+202E RIGHT-TO-LEFT OVERRIDE"),
    ("a: \u2066x", 3, "U+2066 LEFT-TO-RIGHT ISOLATE"),
    ("a: \x01", 3, "U+0001 (a control character)"),
    ("a: b\ufeff", 4, "U+FEFF ZERO WIDTH NO-BREAK SPACE"),
])
def test_unsafe_characters_in_a_file(text: str, index: int, what: str) -> None:
    assert yamlio.unsafe_character(text) == (index, what)


def test_tab_newline_and_a_leading_bom_are_fine() -> None:
    assert yamlio.unsafe_character("\ufeffa:\tb\r\nc: d\n") is None
    assert yamlio.unsafe_character("a\tb\nc", value=True) is None
    assert yamlio.unsafe_character("a\rb", value=True) == (1, "U+000D CARRIAGE RETURN")


def test_limits_bound_expansion_depth_and_size() -> None:
    small = yamlio.Limits(max_chars=1000, max_depth=3, max_nodes=50)
    yamlio.check_limits("a: &a [1, 2]\nb: [*a, *a]\n", small)
    with pytest.raises(yamlio.LimitError, match="more than 50 nodes"):
        yamlio.check_limits("a: &a [1,2,3,4,5,6,7,8,9]\nb: &b [*a,*a,*a,*a,*a,*a]\n", small)
    with pytest.raises(yamlio.LimitError, match="nesting deeper than 3"):
        yamlio.check_limits("a: [[[1]]]\n", small)
    with pytest.raises(yamlio.LimitError, match="1001 characters exceed"):
        yamlio.check_limits("#" * 1001, small)
    with pytest.raises(yamlio.LimitError, match="alias \\*a refers to a collection that contains it"):
        yamlio.check_limits("a: &a [*a]\n", small)


def test_manifests_are_bounded_too() -> None:
    bomb = "a: &a [x,x,x,x,x,x,x,x,x,x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [" + ",".join([f"*{chr(97 + i)}"] * 10) + "]\n" for i in range(8))
    [document] = yamlio.load_documents(bomb)
    assert document.error == "more than 1000000 nodes once aliases are expanded"
    with pytest.raises(yamlio.LimitError):
        yamlio.load_one(bomb)


@pytest.mark.parametrize(("text", "message"), [
    ("a: !!set {x}\n", "the tag 'tag:yaml.org,2002:set' is not allowed in values: plain YAML only"),
    ("a: !!binary aGVsbG8=\n", "the tag 'tag:yaml.org,2002:binary' is not allowed in values: plain YAML only"),
    ("? [a, b]\n: c\n", "a key must be a plain string, not a list or a mapping"),
    ('"a\\u202eb": 1\n', "U+202E RIGHT-TO-LEFT OVERRIDE is not allowed in a key"),
    ("a: !!float x\n", "cannot read this float"),
])
def test_parse_layer_refuses(text: str, message: str) -> None:
    with pytest.raises(ValuesError) as caught:
        parse_layer(text, "values/prod.yaml")
    assert any(p.message.startswith(message) for p in caught.value.problems), caught.value.problems


def test_a_refused_value_and_key_are_named_by_line_and_column() -> None:
    with pytest.raises(ValuesError) as caught:
        parse_layer("a: 1\nb:\n  c: !!set {x}\n  ? [d]\n  : 2\n", "values/prod.yaml")
    assert [f"{p.path}: {p.message}" for p in caught.value.problems] == [
        "line 3, column 6: the tag 'tag:yaml.org,2002:set' is not allowed in values: plain YAML only",
        "line 4, column 5: a key must be a plain string, not a list or a mapping"]


def duplicates_in(text: str) -> list[str]:
    """The problems parse_layer reports for a values text, as the report prints them."""
    with pytest.raises(ValuesError) as caught:
        parse_layer(text, "values/prod.yaml")
    return [str(problem) for problem in caught.value.problems]


def test_every_duplicate_in_one_mapping_is_reported_not_just_the_first() -> None:
    text = "hostname: a\nreplicas: 1\nhostname: b\nreplicas: 2\nhostname: c\nname: x\n"
    assert duplicates_in(text) == [
        "values/prod.yaml::line 3, column 1: duplicate key 'hostname' (first at line 1)",
        "values/prod.yaml::line 4, column 1: duplicate key 'replicas' (first at line 2)",
        "values/prod.yaml::line 5, column 1: duplicate key 'hostname' (first at line 1)",
    ]


def test_a_duplicate_block_is_pointed_at_the_first_key_not_its_first_value() -> None:
    assert duplicates_in("llama:\n  contextSize: 4096\nllama:\n  parallel: 2\n") == [
        "values/prod.yaml::line 3, column 1: duplicate key 'llama' (first at line 1)"]


def test_duplicates_inside_list_items_are_reported_per_item() -> None:
    text = ("extraEnv:\n"
            "  - name: A\n    value: '1'\n    name: B\n"  # a duplicate in the first item
            "  - name: A\n    value: '2'\n"  # the same keys again in the next item: no duplicate
            "  - name: C\n    valueFrom:\n      k: 1\n      k: 2\n")  # one nested in the third
    assert duplicates_in(text) == [
        "values/prod.yaml::line 4, column 5: duplicate key 'name' (first at line 2)",
        "values/prod.yaml::line 10, column 7: duplicate key 'k' (first at line 9)",
    ]
