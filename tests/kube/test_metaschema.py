"""Metaschema checks are recorded by content: once per schema, again when it changes, safe when shared."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from generator import jsonschemas
from generator.kube import metaschema
from generator.kube.location import parse_location
from generator.kube.registry import LookupFailed, SchemaRegistry
from generator.manifest import Identity
from tests.kube.conftest import POSITIVE, PROJECT_ROOT

WIDGET = Identity.of("example.com/v1", "Widget", "gemma", "w")
SCHEMA_V1: dict[str, Any] = {"type": "object", "properties": {"spec": {"type": "object"}}}
SCHEMA_V2: dict[str, Any] = {"type": "object", "properties": {"spec": {"type": "object", "required": ["size"]}}}
BROKEN: dict[str, Any] = {"type": "objekt"}


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every metaschema check that really runs (the draft of each), in order."""
    calls: list[str] = []
    real: Callable[[Any, str], str | None] = jsonschemas.metaschema_error

    def counting(schema: Any, draft: str) -> str | None:
        calls.append(draft)
        return real(schema, draft)

    monkeypatch.setattr(jsonschemas, "metaschema_error", counting)
    return calls


def write_schema(location: Path, schema: dict[str, Any]) -> None:
    """The Widget schema of a CRDs-catalog directory."""
    (location / "example.com").mkdir(parents=True, exist_ok=True)
    (location / "example.com" / "widget_v1.json").write_text(json.dumps(schema))


def lookup(location: Path, cache_dir: Path) -> None:
    """What one run does: a fresh registry (a new process) looks the Widget up."""
    SchemaRegistry((parse_location(location.as_posix(), Path("/")),), cache_dir).lookup(WIDGET, "1.31")


def records(cache_dir: Path) -> list[Path]:
    """The record files, temporary ones included."""
    directory = cache_dir / metaschema.CHECKED_SUBDIR
    return sorted(directory.iterdir()) if directory.is_dir() else []


def test_a_schema_is_checked_once_then_its_record_is_trusted(tmp_path: Path, checks: list[str]) -> None:
    write_schema(tmp_path / "crds", SCHEMA_V1)
    for _ in range(3):
        lookup(tmp_path / "crds", tmp_path / "cache")
    assert checks == [jsonschemas.DRAFT7]
    [record] = records(tmp_path / "cache")
    key = jsonschemas.content_key(SCHEMA_V1, jsonschemas.DRAFT7)
    assert record.name == f"{key}.json"
    assert json.loads(record.read_text()) == {"key": key, "verdict": "valid", "draft": jsonschemas.DRAFT7}


def test_a_changed_schema_is_checked_again(tmp_path: Path, checks: list[str]) -> None:
    write_schema(tmp_path / "crds", SCHEMA_V1)
    lookup(tmp_path / "crds", tmp_path / "cache")
    write_schema(tmp_path / "crds", SCHEMA_V2)
    lookup(tmp_path / "crds", tmp_path / "cache")
    assert len(checks) == 2 and len(records(tmp_path / "cache")) == 2
    write_schema(tmp_path / "crds", BROKEN)
    with pytest.raises(LookupFailed, match="not a valid JSON schema"):
        lookup(tmp_path / "crds", tmp_path / "cache")
    assert len(checks) == 3 and len(records(tmp_path / "cache")) == 2  # a failure is never recorded


def test_a_declared_draft_is_part_of_the_content(tmp_path: Path, checks: list[str]) -> None:
    write_schema(tmp_path / "crds", SCHEMA_V1)
    lookup(tmp_path / "crds", tmp_path / "cache")
    write_schema(tmp_path / "crds", {"$schema": jsonschemas.DRAFT2020_12, **SCHEMA_V1})
    lookup(tmp_path / "crds", tmp_path / "cache")
    assert checks == [jsonschemas.DRAFT7, jsonschemas.DRAFT2020_12]


@pytest.mark.parametrize("corrupt", [
    b"", b'{"key": "', b"<html>rate limited</html>", b"[]", b'{"verdict": "valid"}',
    b'{"key": "0000", "verdict": "valid"}', b'{"key": "KEY", "verdict": "invalid"}',
])
def test_a_corrupt_record_is_ignored_and_rebuilt(tmp_path: Path, checks: list[str], corrupt: bytes) -> None:
    write_schema(tmp_path / "crds", SCHEMA_V1)
    lookup(tmp_path / "crds", tmp_path / "cache")
    [record] = records(tmp_path / "cache")
    key = record.stem
    record.write_bytes(corrupt.replace(b"KEY", key.encode()))
    lookup(tmp_path / "crds", tmp_path / "cache")
    assert len(checks) == 2
    assert json.loads(record.read_text())["key"] == key
    lookup(tmp_path / "crds", tmp_path / "cache")
    assert len(checks) == 2  # rebuilt, so trusted again


def test_a_record_never_vouches_for_a_broken_schema(tmp_path: Path, checks: list[str]) -> None:
    """A record is keyed by content: the broken schema's key has none, whatever else is recorded."""
    write_schema(tmp_path / "crds", SCHEMA_V1)
    lookup(tmp_path / "crds", tmp_path / "cache")
    write_schema(tmp_path / "crds", BROKEN)
    for _ in range(2):
        with pytest.raises(LookupFailed, match=r"not a valid JSON schema \('objekt' is not valid under any"):
            lookup(tmp_path / "crds", tmp_path / "cache")
    assert len(checks) == 3


def test_an_unwritable_cache_costs_a_check_never_a_verdict(tmp_path: Path, checks: list[str]) -> None:
    write_schema(tmp_path / "crds", SCHEMA_V1)
    blocked = tmp_path / "cache"
    blocked.write_text("a file where the cache directory should be")
    lookup(tmp_path / "crds", blocked)
    lookup(tmp_path / "crds", blocked)
    assert len(checks) == 2


def test_without_a_cache_directory_every_run_checks(tmp_path: Path, checks: list[str]) -> None:
    write_schema(tmp_path / "crds", SCHEMA_V1)
    for _ in range(2):
        SchemaRegistry((parse_location((tmp_path / "crds").as_posix(), Path("/")),), None).lookup(WIDGET, "1.31")
    assert len(checks) == 2


def test_concurrent_runs_share_the_records(tmp_path: Path, crd_schemas: Path) -> None:
    """Six `validate` processes at once on an empty cache: all pass, and every record is whole and its own."""
    cache_dir = tmp_path / "cache"
    command = [sys.executable, "-m", "generator", "--root", str(POSITIVE), "validate", "--cache-dir", str(cache_dir),
               "--schema-location", str(crd_schemas), str(POSITIVE / "rendered"), str(POSITIVE / "argocd")]
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(PROJECT_ROOT), "HOME": str(tmp_path)}
    runs = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for _ in range(6)]
    outputs = [(run.wait(timeout=300), run.stdout.read().decode() if run.stdout else "") for run in runs]
    for run in runs:
        if run.stdout:
            run.stdout.close()
    assert all(code == 0 for code, _ in outputs), outputs
    found = records(cache_dir)
    assert found and not [f for f in found if f.name.startswith(".tmp-")]
    for record in found:
        assert json.loads(record.read_text())["key"] == record.stem
    assert len({json.loads(r.read_text())["key"] for r in found}) == len(found)
