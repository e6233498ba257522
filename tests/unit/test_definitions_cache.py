"""What a schema reaches of `_definitions.json`, kept in the schema cache (kubeschemas.definitions_for).

The closure must hold every type the schema can reach (a missing one would make jsonschema-rs fail to
compile and the document fall to jsonschema, or a `$ref` not resolve); the cache must never serve an
entry that is not whole, nor one made from another document.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from generator import kubeschemas
from generator.kube.config import VENDORED_CRDS
from generator.kube.location import parse_location
from generator.kube.registry import LookupFailed, SchemaNotFound, SchemaRegistry
from generator.kube.resource import load_file, manifest_files

REPO = Path(__file__).resolve().parents[2]
VERSION = "1.34"
ROOTS = ("io.k8s.api.core.v1.Toleration", "io.k8s.api.core.v1.Affinity")


@pytest.fixture(autouse=True)
def fresh_memo() -> Iterator[None]:
    """Each test starts as a new process would: nothing remembered in memory, only what is on disk."""
    kubeschemas._closure_resources.cache_clear()
    kubeschemas.definitions_document.cache_clear()
    yield
    kubeschemas._closure_resources.cache_clear()


def entries(cache: Path) -> list[Path]:
    return sorted((cache / kubeschemas.DEFINITIONS_CACHE).glob("*.json"))


def dangling(document: dict[str, object]) -> set[str]:
    """Names `$ref`d inside the document that it does not define."""
    defs = document["$defs"]
    assert isinstance(defs, dict)
    return {name for node in defs.values() for name in kubeschemas.definition_refs(node)} - set(defs)


@pytest.mark.parametrize("version", ["1.31", "1.34", "1.35"])
def test_every_kinds_closure_holds_every_type_it_reaches(version: str) -> None:
    """Every kind the wheel has: its closure defines every root and every `$ref` inside resolves in it."""
    whole = kubeschemas.definitions_document(version)
    kinds = [p for p in kubeschemas.version_dir(version).glob("*.json") if p.name != "_definitions.json"]
    assert len(kinds) > 80
    for path in kinds:
        roots = set(kubeschemas.definition_refs(json.loads(path.read_bytes())))
        part = kubeschemas.closure(whole, roots)
        assert roots <= set(part["$defs"]), path.name
        assert dangling(part) == set(), path.name
        assert {k: v for k, v in part.items() if k != "$defs"} == {k: v for k, v in whole.items() if k != "$defs"}


def test_the_closure_is_smaller_than_the_document() -> None:
    whole = kubeschemas.definitions_document(VERSION)
    deployment = json.loads((kubeschemas.version_dir(VERSION) / "deployment-apps-v1.json").read_bytes())
    part = kubeschemas.closure(whole, kubeschemas.definition_refs(deployment))
    assert 50 < len(part["$defs"]) < len(whole["$defs"]) / 3


def corpus_verdicts(cache: Path | None) -> dict[str, bool | None]:
    """jsonschema-rs's verdict on every document of the committed render and the fixtures, per version."""
    registry = SchemaRegistry((parse_location(VENDORED_CRDS.as_posix(), REPO),), cache)
    found: dict[str, bool | None] = {}
    for directory in (REPO / "rendered", REPO / "argocd", REPO / "tests" / "kube" / "fixtures"):
        for path in manifest_files(directory):
            for manifest in load_file(path, REPO).manifests:
                for version in ("1.31", "1.34", "1.35"):
                    try:
                        validator = registry.lookup(manifest.identity, version).validator
                    except (SchemaNotFound, LookupFailed):
                        continue
                    found[f"{manifest.where} [{version}]"] = validator.fast_verdict(manifest.doc)
    return found


def test_the_same_verdicts_with_closures_as_with_the_whole_document(tmp_path: Path) -> None:
    """Cold (closures made and written) and warm (read back): every verdict as with the whole document."""
    whole = corpus_verdicts(None)
    assert len(whole) > 170 and None not in whole.values()
    assert corpus_verdicts(tmp_path) == whole
    assert entries(tmp_path)
    kubeschemas._closure_resources.cache_clear()
    kubeschemas.definitions_document.cache_clear()
    assert corpus_verdicts(tmp_path) == whole


def test_a_second_run_reads_the_closure_and_not_the_document(tmp_path: Path) -> None:
    first = kubeschemas.definitions_for(VERSION, ROOTS, tmp_path)
    assert len(entries(tmp_path)) == 1
    kubeschemas._closure_resources.cache_clear()
    kubeschemas.definitions_document.cache_clear()
    second = kubeschemas.definitions_for(VERSION, reversed(ROOTS), tmp_path)  # the order asked in is not the key
    assert kubeschemas.definitions_document.cache_info().currsize == 0  # the 1.5 MB document was not parsed
    assert second._documents == first._documents


def test_without_a_cache_the_whole_document_is_used(tmp_path: Path) -> None:
    resources = kubeschemas.definitions_for(VERSION, ROOTS, None)
    assert resources is kubeschemas.definitions_resources(VERSION)


@pytest.mark.parametrize("damage", ["flipped-byte", "truncated", "empty", "digest-of-other-json", "root-missing"])
def test_a_damaged_entry_is_ignored_and_written_anew(tmp_path: Path, damage: str) -> None:
    good = kubeschemas.definitions_for(VERSION, ROOTS, tmp_path)._documents
    [entry] = entries(tmp_path)
    raw = entry.read_bytes()
    digest, _, text = raw.partition(b"\n")
    if damage == "flipped-byte":
        broken = raw[:-10] + bytes([raw[-10] ^ 1]) + raw[-9:]
    elif damage == "truncated":
        broken = raw[: len(raw) // 2]
    elif damage == "empty":
        broken = b""
    elif damage == "digest-of-other-json":
        broken = digest + b"\n" + text.replace(b'"io.k8s', b'"io.k9s', 1)
    else:  # a whole entry with a correct digest that lacks a type asked for
        other = json.dumps({"$id": kubeschemas.DEFINITIONS_ID, "$defs": {}}).encode()
        broken = kubeschemas.hashlib.sha256(other).hexdigest().encode() + b"\n" + other
    entry.write_bytes(broken)
    kubeschemas._closure_resources.cache_clear()
    assert kubeschemas.definitions_for(VERSION, ROOTS, tmp_path)._documents == good
    assert entry.read_bytes() == raw  # rewritten whole


def test_another_document_is_another_entry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The key holds the document's path, size and modification time: a changed wheel is read again."""
    wheel = tmp_path / "wheel"
    wheel.mkdir()
    copy = wheel / "_definitions.json"
    copy.write_bytes((kubeschemas.version_dir(VERSION) / "_definitions.json").read_bytes())
    monkeypatch.setattr(kubeschemas, "version_dir", lambda version: wheel)
    cache = tmp_path / "cache"
    before = kubeschemas.definitions_for(VERSION, ROOTS, cache)._documents
    document = json.loads(copy.read_bytes())
    document["$defs"]["io.k8s.api.core.v1.Toleration"]["description"] = "changed"
    copy.write_text(json.dumps(document))
    os.utime(copy, ns=(1, 1))
    kubeschemas._closure_resources.cache_clear()
    kubeschemas.definitions_document.cache_clear()
    after = kubeschemas.definitions_for(VERSION, ROOTS, cache)._documents
    assert len(entries(cache)) == 2
    changed = after[kubeschemas.DEFINITIONS_ID]["$defs"]["io.k8s.api.core.v1.Toleration"]["description"]
    assert changed == "changed" != before[kubeschemas.DEFINITIONS_ID]["$defs"]["io.k8s.api.core.v1.Toleration"]["description"]


def test_a_cache_that_cannot_be_written_costs_a_parse_and_nothing_else(tmp_path: Path) -> None:
    blocked = tmp_path / "cache"
    blocked.mkdir()
    (blocked / kubeschemas.DEFINITIONS_CACHE).write_text("a file where the directory should be")
    resources = kubeschemas.definitions_for(VERSION, ROOTS, blocked)
    assert set(ROOTS) <= set(resources._documents[kubeschemas.DEFINITIONS_ID]["$defs"])


def test_concurrent_runs_share_the_cache_safely(tmp_path: Path) -> None:
    """Eight processes making the same entries at once: all succeed, every entry whole, no temp file left."""
    code = ("import sys; from pathlib import Path; from generator import kubeschemas as k\n"
            "for v in ('1.31', '1.34', '1.35'):\n"
            f"    d = k.definitions_for(v, {ROOTS!r}, Path(sys.argv[1]))._documents[k.DEFINITIONS_ID]\n"
            f"    assert set({ROOTS!r}) <= set(d['$defs'])\n")
    runs = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], cwd=REPO) for _ in range(8)]
    assert [run.wait(timeout=120) for run in runs] == [0] * 8
    written = entries(tmp_path)
    assert len(written) == 3
    assert all(kubeschemas.read_closure(entry, ROOTS) is not None for entry in written)
    assert sorted(p.name for p in (tmp_path / kubeschemas.DEFINITIONS_CACHE).iterdir()) == [p.name for p in written]
