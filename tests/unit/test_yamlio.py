"""Strict YAML: duplicate keys are errors with line and column; documents are split."""

from __future__ import annotations

from pathlib import Path

from generator.kube.resource import load_file
from generator.yamlio import Document, load_documents


def test_duplicate_key_is_reported_with_both_positions() -> None:
    text = "a: 1\nb:\n  c: 1\n  c: 2\n"
    assert list(load_documents(text)) == [
        Document(0, error="duplicate key 'c' (first at line 3, column 3)", where="line 4, column 3")
    ]


def test_a_bad_document_does_not_spoil_the_next() -> None:
    text = "a: 1\n---\nb: 1\nb: 2\n---\nc: 3\n"
    documents = list(load_documents(text))
    assert [d.data for d in documents] == [{"a": 1}, None, {"c": 3}]
    assert documents[1].error.startswith("duplicate key 'b'")


def test_merge_keys_may_be_overridden() -> None:
    text = "base: &b {x: 1}\nitem:\n  <<: *b\n  x: 2\n"
    assert list(load_documents(text)) == [Document(0, data={"base": {"x": 1}, "item": {"x": 2}})]


def test_empty_documents_are_ignored() -> None:
    text = "---\n---\na: 1\n---\n# only a comment\n"
    assert [d.data for d in load_documents(text)] == [{"a": 1}]


def test_a_syntax_error_ends_the_file_with_one_error() -> None:
    documents = list(load_documents("a: 1\n---\nb: [1\n"))
    assert documents[0].data == {"a": 1}
    assert documents[1].where == "line 4, column 1"
    assert "expected ',' or ']'" in documents[1].error


def test_documents_of_a_multi_document_file_are_labelled(tmp_path: Path) -> None:
    (tmp_path / "all.yaml").write_text("apiVersion: v1\nkind: ConfigMap\n---\nkind: Secret\n")
    loaded = load_file(tmp_path / "all.yaml", tmp_path)
    assert [r.label for r in loaded.manifests] == ["all.yaml#1"]
    assert [(f.problem.file, f.problem.message, f.problem.rule) for f in loaded.failures] == [
        ("all.yaml#2", "missing 'apiVersion' key", "manifest")
    ]


def test_a_single_document_file_keeps_its_plain_name(tmp_path: Path) -> None:
    (tmp_path / "cm.yaml").write_text("---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n")
    loaded = load_file(tmp_path / "cm.yaml", tmp_path)
    assert [(r.label, r.identity.name, r.identity.namespace) for r in loaded.manifests] == [("cm.yaml", "a", "")]


def test_timestamps_stay_strings_as_the_api_server_reads_them() -> None:
    assert list(load_documents("date: 2025-01-01\n")) == [Document(0, data={"date": "2025-01-01"})]


def test_a_duplicate_inside_a_list_item_is_reported_there() -> None:
    text = "containers:\n  - name: a\n    image: x\n  - name: b\n    image: y\n    image: z\n"
    assert list(load_documents(text)) == [  # not the item's first key: every key is remembered, not only the first
        Document(0, error="duplicate key 'image' (first at line 5, column 5)", where="line 6, column 5")
    ]
