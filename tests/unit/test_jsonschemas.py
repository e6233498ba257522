"""jsonschema-rs's verdicts equal jsonschema's on our schemas: the whole corpus, and mutations of it.

jsonschema-rs only decides validity (generator/jsonschemas.py); a document it passes is never shown
to jsonschema, so a pass where jsonschema would fail is an error nobody sees. These tests look for
one: every document of the committed render and of the validator's fixtures against its Kubernetes
and CRD schemas, each leaf of the rendered documents and of the merged values replaced by values of
other types and shapes, and the cases known to differ (tuples, unreadable types, `$` before a newline).
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema
import jsonschema_rs
import pytest

from generator import jsonschemas
from generator.kube.config import VENDORED_CRDS
from generator.kube.location import parse_location
from generator.kube.registry import LookupFailed, SchemaNotFound, SchemaRegistry
from generator.kube.resource import load_file, manifest_files
from generator.manifest import Manifest
from generator.settings import Settings
from generator.values import declared_versions, fast_verdict, load_all, load_schema, values_validator

REPO = Path(__file__).resolve().parents[2]
CORPUS_DIRS = (REPO / "rendered", REPO / "argocd", REPO / "tests" / "kube" / "fixtures")
VERSIONS = ("1.31", "1.34")
# What each leaf is replaced with: other types and shapes, and strings that regex engines read differently.
REPLACEMENTS: tuple[Any, ...] = (None, True, 0, -1, 1.5, 10**20, "", "x" * 300, "a\n", "١٢", [], {}, ["x"], {"zzz": 1})

Path_ = tuple[str | int, ...]


def corpus() -> list[Manifest]:
    """Every resource of the committed render and of the fixtures."""
    return [m for d in CORPUS_DIRS for f in manifest_files(d) for m in load_file(f, REPO).manifests]


def registry() -> SchemaRegistry:
    """The registry `validate` uses by default: the bundled schemas, then the vendored CRDs."""
    return SchemaRegistry((parse_location(VENDORED_CRDS.as_posix(), REPO),), None)


def verdicts(validator: jsonschemas.Validator, instance: Any) -> tuple[bool | None, bool]:
    """(jsonschema-rs's verdict, jsonschema's verdict)."""
    return validator.fast_verdict(instance), not any(True for _ in validator.exact.iter_errors(instance))


def leaves(node: Any, path: Path_ = ()) -> Iterator[Path_]:
    """The path of every scalar and empty collection of a document."""
    if isinstance(node, dict) and node:
        for key, value in node.items():
            yield from leaves(value, (*path, key))
    elif isinstance(node, list) and node:
        for index, value in enumerate(node):
            yield from leaves(value, (*path, index))
    else:
        yield path


def mutations(doc: Any) -> Iterator[tuple[str, Any]]:
    """(description, document) with one leaf replaced, removed, or a key added beside it."""
    for path in leaves(doc):
        for replacement in REPLACEMENTS:
            yield f"{path} = {replacement!r}"[:120], replaced(doc, path, replacement)
        if path and isinstance(path[-1], str):
            yield f"del {path}", replaced(doc, path, DELETE)
            yield f"{path[:-1]} + zzz", replaced(doc, (*path[:-1], "zzz"), "x")


DELETE = object()


def replaced(doc: Any, path: Path_, value: Any) -> Any:
    """A deep copy of the document with the value at `path` replaced (or deleted)."""
    out = copy.deepcopy(doc)
    parent = out
    for part in path[:-1]:
        parent = parent[part]
    if not path:
        return value
    if value is DELETE:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return out


def disagreements(validator: jsonschemas.Validator, cases: Iterator[tuple[str, Any]]) -> tuple[int, list[str]]:
    """How many cases jsonschema-rs passed on its own, and every case whose verdict is not jsonschema's."""
    passed, wrong = 0, list[str]()
    for label, instance in cases:
        fast, exact = verdicts(validator, instance)
        passed += fast is True
        if validator.is_valid(instance) != exact or (fast is True and not exact):
            wrong.append(f"{label}: jsonschema-rs {fast}, jsonschema {exact}, ours {validator.is_valid(instance)}")
    return passed, wrong


def test_the_same_verdict_on_every_document_of_the_corpus() -> None:
    reg = registry()
    pairs = 0
    for manifest in corpus():
        for version in VERSIONS:
            try:
                validator = reg.lookup(manifest.identity, version).validator
            except (SchemaNotFound, LookupFailed):
                continue
            fast, exact = verdicts(validator, manifest.doc)
            assert fast is not None, f"{manifest.where} [{version}]: jsonschema-rs could not decide"
            assert fast == exact, f"{manifest.where} [{version}]: jsonschema-rs {fast}, jsonschema {exact}"
            assert validator.is_valid(manifest.doc) is exact
            pairs += 1
    assert pairs >= 170


def test_the_same_verdict_on_mutations_of_every_rendered_kind() -> None:
    reg = registry()
    seen: set[tuple[str, str]] = set()
    passed, wrong = 0, list[str]()
    for manifest in corpus()[:40]:
        kind = (manifest.identity.api_version, manifest.identity.kind)
        if manifest.where.startswith("tests/") or kind in seen:
            continue
        seen.add(kind)
        validator = reg.lookup(manifest.identity, "1.34").validator
        count, found = disagreements(validator, mutations(manifest.doc))
        passed, wrong = passed + count, wrong + [f"{manifest.where}: {w}" for w in found]
    assert len(seen) >= 11 and passed > 300
    assert wrong == []


def test_the_same_verdict_on_mutations_of_the_values() -> None:
    settings = Settings(root=REPO)
    validator = jsonschemas.Validator(load_schema(settings), jsonschemas.DRAFT2020_12)
    passed, wrong = 0, list[str]()
    for values in load_all(settings):
        count, found = disagreements(validator, mutations(values.data))
        passed, wrong = passed + count, wrong + found
    assert passed > 150
    assert wrong == []


def test_a_tuple_is_left_to_jsonschema() -> None:
    """jsonschema-rs reads a tuple (YAML's !!omap, !!pairs) as an array; jsonschema does not."""
    validator = jsonschemas.Validator({"type": "object", "properties": {"a": {"type": "array"}}}, jsonschemas.DRAFT7)
    assert jsonschema_rs.Draft7Validator({"type": "array"}).is_valid(("x", 1))
    assert validator.fast_verdict({"a": [("x", 1)]}) is None
    assert validator.is_valid({"a": ("x", 1)}) is False
    assert [e.message for e in validator.iter_errors({"a": ("x", 1)})] == ["('x', 1) is not of type 'array'"]


@pytest.mark.parametrize("instance", [{"a": b"x"}, {1: "x"}, {"a": {1, 2}}, {None: 1}])
def test_what_jsonschema_rs_cannot_read_is_left_to_jsonschema(instance: Any) -> None:
    validator = jsonschemas.Validator({"type": "object", "properties": {"a": {"type": "string"}}}, jsonschemas.DRAFT7)
    assert validator.fast_verdict(instance) is None
    exact = not any(True for _ in jsonschema.Draft7Validator(validator.schema).iter_errors(instance))
    assert validator.is_valid(instance) is exact


def test_where_jsonschema_rs_is_stricter_jsonschema_has_the_last_word() -> None:
    """Python's `$` matches before a final newline, ECMA's does not: jsonschema's verdict stands."""
    validator = jsonschemas.Validator({"type": "string", "pattern": "^a$"}, jsonschemas.DRAFT7)
    assert validator.fast_verdict("a\n") is False
    assert validator.is_valid("a\n") is True
    assert list(validator.iter_errors("a\n")) == []


def test_a_schema_jsonschema_rs_cannot_compile_is_left_to_jsonschema() -> None:
    validator = jsonschemas.Validator({"$ref": "https://schemas.example.com/x.json"}, jsonschemas.DRAFT7)
    assert validator.fast_verdict({}) is None
    with pytest.raises(jsonschemas.SchemaUnusable, match="schemas.example.com"):
        validator.is_valid({})


@pytest.mark.parametrize("uri", sorted(jsonschemas._FAST))
def test_each_draft_jsonschema_rs_is_asked_for_is_the_draft_jsonschema_applies(uri: str) -> None:
    exact = jsonschema.validators.validator_for({"$schema": uri}, default=None)  # type: ignore[arg-type]
    assert exact is not None
    assert exact.__name__ == jsonschemas._FAST[uri].__name__


def test_a_valid_document_is_never_shown_to_jsonschema() -> None:
    validator = jsonschemas.Validator({"type": "object"}, jsonschemas.DRAFT7)
    assert list(validator.iter_errors({})) == []
    assert "exact" not in vars(validator)  # the jsonschema validator was never built
    assert [e.message for e in validator.iter_errors([])] == ["[] is not of type 'object'"]


# Where the values' types are stricter than JSON Schema's (values._is_integer, _is_number): whole and
# non-finite floats, which jsonschema-rs would pass as an integer or a number.
STRICTER: tuple[Any, ...] = (8080.0, 0.0, float("nan"), float("inf"), -float("inf"))


def test_valid_values_are_passed_by_jsonschema_rs_alone() -> None:
    """The shipped values take the fast path: `check` and `render` never load jsonschema for them."""
    settings = Settings(root=REPO)
    schema = load_schema(settings)
    assert [v.name for v in load_all(settings) if fast_verdict(v.data, schema, declared_versions(v.data)) is not True] == []


def test_the_values_fast_verdict_never_passes_what_jsonschema_fails() -> None:
    """Mutations of every field of the merged values, the stricter numbers and Kubernetes-typed fields:
    jsonschema-rs (values.fast_verdict) passes none that the values validator refuses."""
    settings = Settings(root=REPO)
    schema = load_schema(settings)
    passed, undecided, wrong = 0, 0, list[str]()
    for values in load_all(settings):
        versions = declared_versions(values.data)
        exact = values_validator(schema, versions)
        stricter = ((f"{path} = {number!r}", replaced(values.data, path, number))
                    for path in leaves(values.data) for number in STRICTER)
        typed = ((f"{field} = {item!r}", {**values.data, field: [item]})
                 for field in ("tolerations", "extraVolumes")
                 for item in ({"key": "a", "operator": "Exists"}, {"key": 1}, {"name": "v", "emptyDir": {"x": 1}},
                              {"name": "v", "emptyDir": {}}, {"effect": "NoSchedule", "operator": "Equal", "value": "x"}))
        for label, doc in itertools.chain(mutations(values.data), stricter, typed):
            fast = fast_verdict(doc, schema, versions)
            passed, undecided = passed + (fast is True), undecided + (fast is None)
            if fast and any(True for _ in exact.iter_errors(doc)):
                wrong.append(f"{values.name}: {label}")
    assert passed > 150 and undecided >= len(STRICTER) * 100
    assert wrong == []


@pytest.mark.parametrize("number", [*STRICTER, Decimal("1.5"), ("x", 1)])
def test_a_whole_or_non_finite_float_in_the_values_is_left_to_jsonschema(number: Any) -> None:
    settings = Settings(root=REPO)
    schema = load_schema(settings)
    values = next(v for v in load_all(settings) if v.name == "prod").data
    doc = replaced(values, ("proxy", "port"), number)
    assert jsonschema_rs.Draft202012Validator({"type": "integer"}).is_valid(8080.0)  # JSON Schema's integer
    assert fast_verdict(doc, schema, declared_versions(doc)) is None
    assert any(True for _ in values_validator(schema, declared_versions(doc)).iter_errors(doc))


@pytest.mark.parametrize("cached", [False, True], ids=["whole-definitions", "cached-closures"])
def test_a_kubernetes_typed_value_is_checked_by_jsonschema_rs_in_every_version(cached: bool, tmp_path: Path) -> None:
    """x-kubernetes-definition is a jsonschema-rs keyword too: a wrong toleration fails the fast verdict,
    against the whole `_definitions.json` and against the closures kept in a schema cache."""
    cache = tmp_path if cached else None
    settings = Settings(root=REPO)
    schema = load_schema(settings)
    values = next(v for v in load_all(settings) if v.name == "prod").data
    for field, good, bad in (("tolerations", [{"key": "a", "operator": "Exists"}], [{"key": "a", "x": 1}]),
                             ("extraVolumes", [{"name": "v", "emptyDir": {}}], [{"name": "v", "emptyDir": {"x": 1}}]),
                             ("affinity", {"nodeAffinity": {}}, {"nodeAffinity": {"x": 1}})):
        assert fast_verdict({**values, field: good}, schema, ("1.31", "1.34"), cache) is True
        # Only the upstream type refuses the unknown field (our schema leaves its shape to it).
        assert fast_verdict({**values, field: bad}, schema, ("1.31", "1.34"), cache) is False
    assert bool(list(tmp_path.rglob("*.json"))) is cached
