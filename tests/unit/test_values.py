"""Pure functions of the values stage: merge rule, schema defaults, patterns, key paths."""

from __future__ import annotations

import json
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from generator.problems import key_path
from generator.values import KUBERNETES_KEYWORD, merge, parse_layer, schema_defaults
from tests.conftest import REPO

SCHEMA = json.loads((REPO / "schemas/values.schema.json").read_text())


@pytest.mark.parametrize(("base", "over", "expected"), [
    ({"a": 1}, {"b": 2}, {"a": 1, "b": 2}),
    ({"a": {"x": 1, "y": 2}}, {"a": {"y": 3}}, {"a": {"x": 1, "y": 3}}),  # maps merge
    ({"a": [1, 2, 3]}, {"a": [4]}, {"a": [4]}),  # lists replace
    ({"a": {"x": 1}}, {"a": 5}, {"a": 5}),  # a scalar replaces a map
    ({"a": 5}, {"a": {"x": 1}}, {"a": {"x": 1}}),
])
def test_merge_rule(base: dict[str, Any], over: dict[str, Any], expected: dict[str, Any]) -> None:
    assert merge(base, over) == expected


def test_merge_does_not_mutate_its_inputs() -> None:
    base = {"a": {"x": 1}}
    merge(base, {"a": {"x": 2}})
    assert base == {"a": {"x": 1}}


def test_every_schema_field_has_a_description_and_type() -> None:
    def walk(node: dict[str, Any], path: str) -> list[str]:
        missing = []
        for key, sub in node.get("properties", {}).items():
            if "description" not in sub:
                missing.append(f"{path}.{key}: description")
            if "type" not in sub and "$ref" not in sub and "enum" not in sub:
                missing.append(f"{path}.{key}: type")
            if KUBERNETES_KEYWORD not in sub:  # below it, the strict upstream type refuses unknown keys
                missing += walk(sub, f"{path}.{key}")
        if node.get("type") == "object" and "additionalProperties" not in node:
            missing.append(f"{path}: additionalProperties")
        return missing

    assert walk(SCHEMA, "$") == []
    Draft202012Validator.check_schema(SCHEMA)


def test_schema_defaults_reproduce_the_reference_deployment() -> None:
    defaults = schema_defaults(SCHEMA)
    assert defaults["model"] == {"hfRepo": "ggml-org/gemma-3-1b-it-GGUF", "hfFile": "gemma-3-1b-it-Q4_K_M.gguf",
                                 "alias": "gemma-3-1b-it"}
    assert defaults["llama"]["resources"] == {"requests": {"cpu": "1200m", "memory": "2Gi"},
                                              "limits": {"cpu": "2", "memory": "4Gi"}}
    assert defaults["proxy"]["resources"] == {"requests": {"cpu": "10m", "memory": "32Mi"},
                                              "limits": {"cpu": "50m", "memory": "64Mi"}}
    assert defaults["cache"] == {"size": "5Gi", "storageClass": "oci-bv", "accessMode": "ReadWriteOnce"}
    assert "hostname" not in defaults  # required: every environment names its own


IMAGE = SCHEMA["$defs"]["image"]


@pytest.mark.parametrize(("image", "ok"), [
    ("ghcr.io/ggml-org/llama.cpp:server-b11434", True),
    ("openresty/openresty:1.27.1.2-alpine", True),
    ("nginx:1.27", True),
    ("localhost:5000/team/img:v1", True),
    ("ghcr.io/x/y@sha256:" + "a" * 64, True),
    ("ghcr.io/x/y:v1@sha256:" + "a" * 64, True),
    ("ghcr.io/x/y:latest", False),
    ("ghcr.io/x/y:latest@sha256:" + "a" * 64, False),
    ("ghcr.io/x/y", False),  # no tag: would mean latest
    ("localhost:5000/team/img", False),
    ("Ghcr.io/X/y:1", False),
    ("ghcr.io/x/y@sha256:abc", False),
])
def test_image_must_be_pinned(image: str, ok: bool) -> None:
    assert Draft202012Validator({**IMAGE, "$defs": SCHEMA["$defs"]}).is_valid(image) is ok


@pytest.mark.parametrize(("value", "ok"), [
    ("2", True), ("1.2", True), ("1200m", True), ("0.5", True), ("2 cores", False), ("1.2345", False), ("-1", False),
])
def test_cpu_quantity(value: str, ok: bool) -> None:
    assert Draft202012Validator(SCHEMA["$defs"]["cpu"]).is_valid(value) is ok


@pytest.mark.parametrize(("value", "ok"), [
    ("4Gi", True), ("64Mi", True), ("512M", True), ("1073741824", True), ("4GB", False), ("4 Gi", False), ("", False),
])
def test_memory_quantity(value: str, ok: bool) -> None:
    assert Draft202012Validator(SCHEMA["$defs"]["memory"]).is_valid(value) is ok


@pytest.mark.parametrize(("host", "ok"), [
    ("gemma.example.com", True), ("a.b", False), ("api.x-y.io", True), ("localhost", False),
    ("*.example.com", False), ("Gemma.example.com", False), ("gemma.example.com.", False),
])
def test_hostname(host: str, ok: bool) -> None:
    assert Draft202012Validator(SCHEMA["properties"]["hostname"]).is_valid(host) is ok


@pytest.mark.parametrize(("path", "expected"), [
    (("llama", "contextSize"), "llama.contextSize"),
    (("nodeSelector", "kubernetes.io/arch"), "nodeSelector.kubernetes.io/arch"),
    (("a", 0, "b"), "a[0].b"),
    ((), ""),
])
def test_key_path(path: tuple[str | int, ...], expected: str) -> None:
    assert key_path(path) == expected


def test_parse_layer_records_lines_of_nested_keys() -> None:
    layer = parse_layer("a: 1\nb:\n  c: [1, 2]\n  d: x\n", "f.yaml")
    assert layer.data == {"a": 1, "b": {"c": [1, 2], "d": "x"}}
    assert layer.lines[("b", "d")] == 4 and layer.lines[("b", "c")] == 3
