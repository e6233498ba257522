"""One resource against its schemas: per-version verdicts, unchecked resources, skipped kinds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from generator.kube.location import parse_location
from generator.kube.registry import SchemaRegistry
from generator.kube.report import Status
from generator.kube.validator import validate_resource
from generator.manifest import Manifest
from generator.problems import Problem

VERSIONS = ("1.31", "1.34")


def resource(body: dict[str, Any]) -> Manifest:
    """A resource as loading `x.yaml` would produce it."""
    return Manifest("x.yaml", body, label="x.yaml")


def registry(*directories: Path) -> SchemaRegistry:
    """A registry over catalog-layout directories."""
    return SchemaRegistry(tuple(parse_location(d.as_posix(), Path("/")) for d in directories), None)


def test_an_api_removed_in_a_later_version_names_that_version() -> None:
    """flowcontrol v1beta3 is served by 1.31 and gone in 1.34 (removed in 1.32)."""
    body = {
        "apiVersion": "flowcontrol.apiserver.k8s.io/v1beta3",
        "kind": "FlowSchema",
        "metadata": {"name": "f"},
        "spec": {"priorityLevelConfiguration": {"name": "p"}},
    }
    result = validate_resource(resource(body), registry(), VERSIONS, frozenset())
    assert result.status is Status.ERROR
    assert [i.message for i in result.problems] == [
        (
            "no schema found for flowcontrol.apiserver.k8s.io/v1beta3 FlowSchema [Kubernetes 1.34]"
            " (tried the bundled Kubernetes schemas); add its schema to a schema location, or list the kind in ignore-kinds"
        )
    ]


def test_a_schema_error_in_one_version_only_names_that_version() -> None:
    """Pod-level `resources` entered PodSpec in 1.32: a 1.31 cluster rejects it, 1.34 accepts it."""
    body = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p"},
        "spec": {"resources": {"limits": {"memory": "4Gi"}}, "containers": [{"name": "c", "image": "x"}], "foo": 1},
    }
    result = validate_resource(resource(body), registry(), VERSIONS, frozenset())
    assert result.status is Status.INVALID
    assert result.problems == (
        Problem("x.yaml", "$.spec", "Additional properties are not allowed ('foo' was unexpected) [Kubernetes 1.34]",
                rule="Pod"),
        Problem(
            "x.yaml",
            "$.spec",
            "Additional properties are not allowed ('foo', 'resources' were unexpected) [Kubernetes 1.31]",
            rule="Pod",
        ),
    )


def test_a_broken_schema_leaves_the_resource_unchecked(tmp_path: Path) -> None:
    (tmp_path / "example.com").mkdir()
    (tmp_path / "example.com" / "widget_v1.json").write_text("<html>")
    body = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    result = validate_resource(resource(body), registry(tmp_path), VERSIONS, frozenset())
    assert result.status is Status.ERROR
    [issue] = result.problems
    assert issue.message.startswith(
        f"broken schema at {tmp_path.as_posix()}/example.com/widget_v1.json: not valid JSON"
    )


def test_a_remote_ref_is_never_fetched(tmp_path: Path) -> None:
    (tmp_path / "example.com").mkdir()
    schema = {"type": "object", "properties": {"spec": {"$ref": "https://schemas.example.com/spec.json"}}}
    (tmp_path / "example.com" / "widget_v1.json").write_text(json.dumps(schema))
    body = {"apiVersion": "example.com/v1", "kind": "Widget", "spec": {}}
    result = validate_resource(resource(body), registry(tmp_path), VERSIONS, frozenset())
    assert result.status is Status.ERROR
    assert "cannot be applied offline" in result.problems[0].message


def test_ignored_kinds_are_skipped_by_kind_or_api_version_and_kind() -> None:
    body = {"apiVersion": "example.com/v1", "kind": "Widget"}
    for ignore in ({"Widget"}, {"example.com/v1/Widget"}):
        result = validate_resource(resource(body), registry(), VERSIONS, frozenset(ignore))
        assert (result.status, result.note) == (Status.SKIPPED, "Widget is listed in ignore-kinds")
