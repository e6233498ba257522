"""Field-level differences of one resource: paths, named lists, scalar-list segments, text diffs."""

from __future__ import annotations

from typing import Any

import pytest

from generator.diffing.fields import FieldChange, Op, diff_fields, key_path, list_names, show, show_pair

ARGS = ["--port", "8000", "-c", "4096", "-ngl", "0", "--timeout", "600"]


def lines(before: Any, after: Any) -> list[str]:
    return [str(change) for change in diff_fields(before, after)]


@pytest.mark.parametrize(("before", "after", "expected"), [
    ({"a": 1}, {"a": 1}, []),
    ({"spec": {"replicas": 1}}, {"spec": {"replicas": 2}}, ["spec.replicas: 1 → 2"]),
    ({"a": {"b": "x"}}, {"a": {"b": "x", "c": "y"}}, ["a.c: + y"]),
    ({"a": {"b": "x", "c": "y"}}, {"a": {"b": "x"}}, ["a.c: - y"]),
    ({"a": 1}, {"a": {"b": 2}}, ["a: 1 → {b: 2}"]),
    ({"a": {}}, {"a": {"b": {"c": [1, 2]}}}, ["a.b: + {c: [1, 2]}"]),
    # a key that is not a plain word is quoted, so the dots in it are not read as nesting
    ({"data": {"nginx.conf": "a"}}, {"data": {"nginx.conf": "b"}}, ['data["nginx.conf"]: a → b']),
    ({"metadata": {"annotations": {"checksum/proxy-config": "1a"}}},
     {"metadata": {"annotations": {"checksum/proxy-config": "2b"}}},
     ["metadata.annotations.checksum/proxy-config: 1a → 2b"]),
    # a type change is visible even when the plain forms read alike
    ({"port": 8000}, {"port": "8000"}, ['port: 8000 → "8000"']),
    ({"optional": True}, {"optional": 1}, ["optional: true → 1"]),
    ({"x": {"y": True}}, {"x": {"y": 1}}, ["x.y: true → 1"]),
    ({"value": ""}, {"value": "a b"}, ['value: "" → a b']),
    ({"value": None}, {"value": "x"}, ["value: null → x"]),
])
def test_maps_and_scalars(before: Any, after: Any, expected: list[str]) -> None:
    assert lines(before, after) == expected


@pytest.mark.parametrize(("before", "after", "expected"), [
    (ARGS, [*ARGS[:3], "8192", *ARGS[4:]], ["args: -c 4096 → -c 8192"]),
    # a change at the start takes its context from the item after it
    (ARGS, ["--listen", *ARGS[1:]], ["args: --port 8000 → --listen 8000"]),
    (ARGS, [*ARGS, "--embeddings"], ["args: + --embeddings"]),
    ([*ARGS, "--embeddings", "--pooling", "mean"], ARGS, ["args: - --embeddings --pooling mean"]),
    (ARGS, [*ARGS[:2], "--jinja", *ARGS[2:]], ["args: + --jinja (after 8000)"]),
    (ARGS, ["--jinja", *ARGS], ["args: + --jinja (before --port)"]),
    (ARGS, ARGS[2:], ["args: - --port 8000 (before -c)"]),
    (ARGS, [*ARGS[:4], *ARGS[6:]], ["args: - -ngl 0 (after 4096)"]),
    # a replacement of unequal length: item for item, then the rest
    ([*ARGS, "--embeddings", "--pooling", "mean"], [*ARGS[:-1], "900"],
     ["args: --timeout 600 → --timeout 900", "args: - --embeddings --pooling mean"]),
    (ARGS, [*ARGS[:-1], "900", "--embeddings"], ["args: --timeout 600 → --timeout 900", "args: + --embeddings"]),
    # two separate edits, two lines
    (ARGS, ["--port", "8001", "-c", "4096", "-ngl", "1", "--timeout", "600"],
     ["args: --port 8000 → --port 8001", "args: -ngl 0 → -ngl 1"]),
    (["a"], ["b"], ["args: a → b"]),
    (["sh", "-c", "echo hi"], ["sh", "-c", "echo bye"], ['args: -c "echo hi" → -c "echo bye"']),
    ([1, 2], [1, "2"], ['args: 1 2 → 1 "2"']),
    (["a", True], ["a", "true"], ['args: a true → a "true"']),
])
def test_lists_of_scalars(before: list[Any], after: list[Any], expected: list[str]) -> None:
    assert lines({"args": before}, {"args": after}) == expected


def container(name: str, **fields: Any) -> dict[str, Any]:
    return {"name": name, **fields}


@pytest.mark.parametrize(("before", "after", "expected"), [
    ([container("llama-server", image="a:1")], [container("llama-server", image="a:2")],
     ["containers[llama-server].image: a:1 → a:2"]),
    ([container("auth-proxy"), container("llama-server", env=[{"name": "HF_HOME", "value": "/models"}])],
     [container("auth-proxy"), container("llama-server", env=[{"name": "HF_HOME", "value": "/cache"}])],
     ["containers[llama-server].env[HF_HOME].value: /models → /cache"]),
    ([container("a")], [container("a"), container("b", image="x")], ["containers[b]: + {name: b, image: x}"]),
    ([container("a"), container("b")], [container("b")], ["containers[a]: - {name: a}"]),
    ([container("a"), container("b")], [container("b"), container("a")], ["containers (order): a, b → b, a"]),
    # maps without a distinct name are matched by index
    ([{"port": 80}, {"port": 443}], [{"port": 80}, {"port": 8443}], ["containers[1].port: 443 → 8443"]),
    ([{"port": 80}], [{"port": 80}, {"port": 443}], ["containers[1]: + {port: 443}"]),
    ([container("a"), container("a", x=1)], [container("a"), container("a", x=2)], ["containers[1].x: 1 → 2"]),
])
def test_lists_of_maps(before: list[Any], after: list[Any], expected: list[str]) -> None:
    assert lines({"containers": before}, {"containers": after}) == expected


def test_multi_line_string_is_a_unified_diff_of_its_lines() -> None:
    before = "worker_processes 1;\nhttp {\n  proxy_read_timeout 600s;\n}\n"
    after = before.replace("600s", "900s")
    assert diff_fields({"data": {"nginx.conf": before}}, {"data": {"nginx.conf": after}}) == [
        FieldChange('data["nginx.conf"]', Op.TEXT, lines=(
            "@@ -1,4 +1,4 @@", " worker_processes 1;", " http {", "-  proxy_read_timeout 600s;",
            "+  proxy_read_timeout 900s;", " }")),
    ]


@pytest.mark.parametrize(("before", "after", "expected"), [
    ({}, {"auth.lua": "a\nb\n"}, ("@@ -0,0 +1,2 @@", "+a", "+b")),
    ({"auth.lua": "a\nb\n"}, {}, ("@@ -1,2 +0,0 @@", "-a", "-b")),
    ({"auth.lua": "a\nb\n"}, {"auth.lua": "a\nb"}, ("\\ only the line endings or the final newline differ",)),
])
def test_added_and_removed_text(before: dict[str, str], after: dict[str, str], expected: tuple[str, ...]) -> None:
    (change,) = diff_fields(before, after)
    assert (str(change), change.lines) == ('["auth.lua"]:', expected)


@pytest.mark.parametrize(("path", "key", "expected"), [
    ("", "spec", "spec"),
    ("spec", "replicas", "spec.replicas"),
    ("metadata.annotations", "checksum/proxy-config", "metadata.annotations.checksum/proxy-config"),
    ("nodeSelector", "kubernetes.io/arch", 'nodeSelector["kubernetes.io/arch"]'),
    ("", "a b", '["a b"]'),
    ("data", 8080, "data.8080"),
])
def test_key_path(path: str, key: Any, expected: str) -> None:
    assert key_path(path, key) == expected


@pytest.mark.parametrize(("items", "expected"), [
    ([], []),
    ([{"name": "a"}, {"name": "b"}], ["a", "b"]),
    ([{"name": "a"}, {"name": "a"}], None),
    ([{"name": "a"}, {"port": 1}], None),
    ([{"name": 1}], None),
    (["a"], None),
])
def test_list_names(items: list[Any], expected: list[str] | None) -> None:
    assert list_names(items) == expected


@pytest.mark.parametrize(("value", "expected"), [
    ("x", "x"), ("", '""'), (" x", '" x"'), (8000, "8000"), (0.5, "0.5"), (True, "true"), (None, "null"),
    ({"a": [1, "b"]}, "{a: [1, b]}"), ([], "[]"),
])
def test_show(value: Any, expected: str) -> None:
    assert show(value) == expected


def test_show_pair_quotes_only_when_plain_forms_collide() -> None:
    assert show_pair("2", "3") == ("2", "3")
    assert show_pair(2, "2") == ('2', '"2"')
