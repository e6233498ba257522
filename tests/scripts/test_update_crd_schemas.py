"""scripts/update-crd-schemas.py: which files it fetches, how it checks them, what PROVENANCE.md says.

Nothing here touches the network. The end-to-end runs read a local copy of the catalog through
file:// URLs with the script's own urllib fetch.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from generator.kube.registry import python_patterns
from tests.scripts.load import script

update = script("update-crd-schemas")
VENDORED = update.DEST

# Issue 11: every custom resource kind we render or let users add, as group/kind_version.
ISSUE_11_KINDS = [
    "external-secrets.io/externalsecret_v1", "external-secrets.io/clustersecretstore_v1", "external-secrets.io/secretstore_v1",
    "gateway.networking.k8s.io/httproute_v1", "gateway.networking.k8s.io/gateway_v1",
    "gateway.networking.k8s.io/referencegrant_v1", "gateway.networking.k8s.io/grpcroute_v1",
    "gateway.envoyproxy.io/backendtrafficpolicy_v1alpha1", "gateway.envoyproxy.io/clienttrafficpolicy_v1alpha1",
    "gateway.envoyproxy.io/securitypolicy_v1alpha1",
    "cert-manager.io/certificate_v1", "cert-manager.io/issuer_v1", "cert-manager.io/clusterissuer_v1",
    "argoproj.io/application_v1alpha1", "argoproj.io/applicationset_v1alpha1", "argoproj.io/appproject_v1alpha1",
    "monitoring.coreos.com/servicemonitor_v1", "monitoring.coreos.com/podmonitor_v1", "monitoring.coreos.com/prometheusrule_v1",
]


def vendored_files() -> list[str]:
    return sorted(p.relative_to(VENDORED).as_posix() for p in VENDORED.glob("*/*.json"))


# -- the list of files --------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ISSUE_11_KINDS)
def test_every_kind_of_issue_11_is_fetched_and_vendored(kind: str) -> None:
    assert f"{kind}.json" in update.wanted_files(VENDORED)
    assert (VENDORED / f"{kind}.json").is_file()


def test_the_script_names_no_kind_beyond_issue_11() -> None:
    named = {f"{group}/{name}" for group, names in update.KINDS.items() for name in names}
    assert named == set(ISSUE_11_KINDS)


def test_kinds_vendored_by_hand_are_refreshed_too() -> None:
    assert set(vendored_files()) <= set(update.wanted_files(VENDORED))
    assert "gateway.networking.k8s.io/gatewayclass_v1.json" in update.wanted_files(VENDORED)


def test_a_fresh_directory_gets_the_named_kinds_sorted(tmp_path: Path) -> None:
    (tmp_path / "example.com").mkdir()
    (tmp_path / "example.com" / "widget_v1.json").write_text("{}")
    (tmp_path / "notes.json").write_text("{}")  # not in the {group}/ layout: not a schema of ours
    wanted = update.wanted_files(tmp_path, {"b.io": ("y_v1",), "a.io": ("x_v1",)})
    assert wanted == ["a.io/x_v1.json", "b.io/y_v1.json", "example.com/widget_v1.json"]


# -- checking a schema: the standard-library check agrees with jsonschema's ---------------------


def jsonschema_accepts(schema: Any) -> bool:
    """jsonschema's verdict, as `validate` compiles a location's schema (draft 7, formats checked)."""
    try:
        jsonschema.Draft7Validator.check_schema(python_patterns(schema))
    except jsonschema.SchemaError:
        return False
    return True


@pytest.mark.parametrize("path", vendored_files())
def test_the_check_agrees_with_jsonschema_on_every_vendored_schema(path: str) -> None:
    schema = json.loads((VENDORED / path).read_bytes())
    assert (update.schema_problems(schema) == []) == jsonschema_accepts(schema)


BROKEN = [
    ({"type": "strnig"}, "$.type: 'strnig' is not a JSON Schema type"),
    ({"type": ["string", "string"]}, "$.type: ['string', 'string'] is not a JSON Schema type"),
    ({"properties": []}, "$.properties: is not an object"),
    ({"properties": {"a": {"type": 5}}}, "$.properties.a.type: 5 is not"),
    ({"required": "name"}, "$.required: 'name' is not a list of distinct strings"),
    ({"minLength": -1}, "$.minLength: -1 is not a non-negative integer"),
    ({"maxItems": True}, "$.maxItems: True is not a non-negative integer"),
    ({"minimum": "0"}, "$.minimum: '0' is not a number"),
    ({"items": 3}, "$.items: a schema must be an object or a boolean, not int"),
    ({"items": [{"type": "string"}, {"enum": 1}]}, "$.items[1].enum: 1 is not a list"),
    ({"anyOf": []}, "$.anyOf: is not a non-empty list"),
    ({"additionalProperties": {"pattern": "("}}, "$.additionalProperties.pattern: '(' is not a regular expression"),
    ({"patternProperties": {"^(a(?i)x)$": {}}}, "$.patternProperties: '^(a(?i)x)$' is not a regular expression"),
    ({"description": 1}, "$.description: 1 is not a string"),
]


@pytest.mark.parametrize(("schema", "problem"), BROKEN)
def test_a_broken_schema_is_rejected_by_both(schema: dict[str, Any], problem: str) -> None:
    problems = update.schema_problems(schema)
    assert len(problems) == 1 and problems[0].startswith(problem)
    assert not jsonschema_accepts(schema)


@pytest.mark.parametrize("schema", [
    True,
    {},
    {"type": ["string", "null"], "x-kubernetes-int-or-string": True, "x-kubernetes-validations": [{"rule": "x"}]},
    {"properties": {"a": {"items": {"anyOf": [{"type": "integer"}, {"type": "string", "pattern": "^[a-z]+$"}]}}}},
])
def test_a_valid_schema_is_accepted_by_both(schema: Any) -> None:
    assert update.schema_problems(schema) == []
    assert jsonschema_accepts(schema)


@pytest.mark.parametrize(("body", "problem"), [
    (b"{nope", "x.json: not JSON ("),
    (b"[1]", "x.json: not a JSON object but list"),
    (b'{"type": "text"}', "x.json: $.type: 'text' is not a JSON Schema type"),
])
def test_a_download_that_is_not_a_schema_object_is_refused(body: bytes, problem: str) -> None:
    assert update.document_problems("x.json", body)[0].startswith(problem)


# -- the provenance text ------------------------------------------------------------------------

ENTRIES = [
    update.FileEntry("b.io/y_v1.json", "b" * 64, "2026-12-01", "0123456789abcdef0123456789abcdef01234567"),
    update.FileEntry("a.io/x_v1.json", "a" * 64, "2026-11-27", None),
]
KNOWN = {"a.io": update.Upstream("Project A", "v1.2.3", "its release notes")}


def test_provenance_lists_every_file_with_its_digest_date_and_commit() -> None:
    text = update.render_provenance(ENTRIES, KNOWN)
    assert f"| `a.io/x_v1.json` | `{'a' * 64}` | 2026-11-27 | not recorded (branch `main`) |" in text
    assert f"| `b.io/y_v1.json` | `{'b' * 64}` | 2026-12-01 | `0123456789abcdef0123456789abcdef01234567` |" in text
    assert text.index("a.io/x_v1.json") < text.index("b.io/y_v1.json")
    assert "Source: `https://raw.githubusercontent.com/datreeio/CRDs-catalog/{commit}/{file}`." in text
    assert update.provenance_files(text) == {"a.io/x_v1.json": "a" * 64, "b.io/y_v1.json": "b" * 64}


def test_provenance_names_each_groups_upstream_release_or_says_it_is_unknown() -> None:
    text = update.render_provenance(ENTRIES, KNOWN)
    assert "| a.io | Project A | v1.2.3 | its release notes |" in text
    assert "| b.io | ? | not determined | add it to UPSTREAM in scripts/update-crd-schemas.py |" in text


def test_a_group_whose_files_changed_is_marked_for_lookup() -> None:
    text = update.render_provenance(ENTRIES, KNOWN, stale={"a.io"})
    assert "| a.io | Project A | to look up: the files changed since v1.2.3 was recorded |" in text
    assert "its release notes" not in text


def test_the_committed_provenance_matches_the_vendored_files() -> None:
    text = (VENDORED / "PROVENANCE.md").read_text(encoding="utf-8")
    actual = {path: hashlib.sha256((VENDORED / path).read_bytes()).hexdigest() for path in vendored_files()}
    assert update.provenance_files(text) == actual, "a vendored schema changed without PROVENANCE.md: run make update-crd-schemas"


def test_the_committed_provenance_records_every_groups_upstream_release() -> None:
    text = (VENDORED / "PROVENANCE.md").read_text(encoding="utf-8")
    for group in sorted({path.split("/")[0] for path in vendored_files()}):
        known = update.UPSTREAM[group]
        assert f"| {group} | {known.project} | {known.version} | {known.evidence} |" in text


# -- a whole run against a local copy of the catalog (file:// URLs, the script's own fetch) ------


def local_catalog(root: Path, files: dict[str, bytes], commit: str = "c0ffee" * 6 + "c0ff") -> Any:
    """A catalog mirror on disk: the files under <root>/<commit>/, GitHub's commit JSON beside them."""
    for path, body in {**files, "LICENSE": b"MIT License\n"}.items():
        (root / commit / path).parent.mkdir(parents=True, exist_ok=True)
        (root / commit / path).write_bytes(body)
    (root / "commit.json").write_text(json.dumps({"sha": commit}))
    return update.Source(raw_url=f"file://{root}/{{ref}}/{{path}}", commit_url=f"file://{root}/commit.json")


def test_a_run_writes_the_files_the_licence_and_the_provenance(tmp_path: Path) -> None:
    dest = tmp_path / "crds"
    (dest / "a.io").mkdir(parents=True)
    (dest / "a.io" / "x_v1.json").write_text('{"type": "object"}')
    new = b'{"type": "object", "properties": {"spec": {"type": "object"}}}'
    source = local_catalog(tmp_path / "mirror", {"a.io/x_v1.json": new, "b.io/y_v1.json": b"{}"})
    stale = update.update(dest, "2026-12-01", source=source, kinds={"b.io": ("y_v1",)})
    assert stale == ["a.io", "b.io"]
    assert (dest / "a.io" / "x_v1.json").read_bytes() == new
    assert (dest / "LICENSE").read_text() == "MIT License\n"
    provenance = (dest / "PROVENANCE.md").read_text()
    assert update.provenance_files(provenance) == {"a.io/x_v1.json": hashlib.sha256(new).hexdigest(),
                                                   "b.io/y_v1.json": hashlib.sha256(b"{}").hexdigest()}
    assert "| 2026-12-01 | `" + "c0ffee" * 6 + "c0ff` |" in provenance
    assert not list(dest.rglob(".*"))  # no temporary file left behind


def test_one_bad_file_means_nothing_is_written(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dest = tmp_path / "crds"
    shutil.copytree(VENDORED, dest)
    before = {p: p.read_bytes() for p in dest.rglob("*") if p.is_file()}
    mirror = {path: (VENDORED / path).read_bytes() for path in vendored_files()}
    mirror["cert-manager.io/issuer_v1.json"] = b"[]"
    del mirror["argoproj.io/appproject_v1alpha1.json"]
    source = local_catalog(tmp_path / "mirror", mirror)
    code = update.main(["--dest", str(dest), "--raw-url", source.raw_url, "--commit-url", source.commit_url])
    assert code == 1
    assert {p: p.read_bytes() for p in dest.rglob("*") if p.is_file()} == before
    err = capsys.readouterr().err
    assert err.startswith("update-crd-schemas: nothing written:\n")
    assert "/argoproj.io/appproject_v1alpha1.json: " in err
    assert "cert-manager.io/issuer_v1.json: not a JSON object but list" in err
