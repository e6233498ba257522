"""Pure functions of the values stage: merge rule, schema defaults, patterns, key paths."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from generator import credentials, settings
from generator.errors import ValuesError
from generator.problems import key_path
from generator.settings import Settings
from generator.values import (
    KUBERNETES_KEYWORD,
    Layer,
    Where,
    load_all,
    load_environment,
    load_schema,
    merge,
    merge_layers,
    parse_layer,
    pin,
    schema_defaults,
)
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


def test_schema_defaults_pass_over_a_boolean_subschema() -> None:
    # `false` (nothing allowed) and `true` (anything) are JSON Schemas too, without a default.
    schema = {"properties": {"gone": False, "free": True, "port": {"type": "integer", "default": 8080}}}
    assert schema_defaults(schema) == {"port": 8080}


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


# -- problems as the report prints them ------------------------------------------------------------

TOKEN = "ghp_0123456789abcdefghijABCDEFGHIJ012345"
REQUIRED = "hostname: gemma.example.com\nargocd:\n  repoURL: https://github.com/example/gemma-gitops.git\n"


def problems_of(text: str, schema: dict[str, Any] = SCHEMA) -> list[str]:
    """The problems (as printed) of values/prod.yaml holding `text` over the schema's defaults; [] when valid."""
    layers = [Layer("(schema defaults)", schema_defaults(schema) or {}), parse_layer(text, "values/prod.yaml")]
    try:
        merge_layers("prod", "values/prod.yaml", layers, schema)
    except ValuesError as err:
        return [str(problem) for problem in err.problems]
    return []


@pytest.mark.parametrize(("field", "text", "expected"), [
    ({"type": "integer", "minimum": 1}, "n: 0\n", "0 is out of range: expected 1 to inf"),
    ({"type": "integer", "maximum": 8}, "n: 9\n", "9 is out of range: expected -inf to 8"),
    ({"type": "string", "pattern": "^[a-z]+$"}, "n: A1\n", "'A1' is not valid: expected a value matching '^[a-z]+$'"),
    ({"type": "integer"}, "n: x\n", "'x' is not of type 'integer'"),
    ({"type": "array", "uniqueItems": True}, "n: [1, 1]\n", "a list repeats an item"),
], ids=["minimum", "maximum", "pattern", "type", "uniqueItems"])
def test_a_field_without_a_description_is_explained_by_its_keyword_alone(field: Any, text: str, expected: str) -> None:
    # A project's own schema need not describe every field: the message must still read whole.
    schema = {"type": "object", "properties": {"n": field}}
    assert problems_of(text, schema) == [f"values/prod.yaml::n (line 1): {expected}"]


def test_a_repeated_item_is_named_with_the_fields_description() -> None:
    assert problems_of(REQUIRED + "kubernetesVersions: ['1.31', '1.31']\n") == [
        "values/prod.yaml::kubernetesVersions (line 4): a list repeats an item (Kubernetes minor versions the cluster "
        "runs (or will be upgraded to); `validate` checks this environment's core resources against each one's schemas.)"]


def test_an_upstream_type_error_reads_in_its_own_words_with_the_versions_it_occurs_in() -> None:
    # Volume.image came with Kubernetes 1.31: 1.25 has no such key, 1.31 wants an object there. Upstream's
    # descriptions are not ours to append; the versions an error occurs in only are.
    problems = problems_of(REQUIRED + "kubernetesVersions: ['1.25', '1.31']\nextraVolumes:\n  - {name: w, image: registry}\n")
    assert len(problems) == 2
    assert problems[0].startswith("values/prod.yaml::extraVolumes[0].image (line 6): unknown key 'image'; allowed here: ")
    assert problems[0].endswith(", vsphereVolume [Kubernetes 1.25 only]")
    assert problems[1] == ("values/prod.yaml::extraVolumes[0].image (line 6): 'registry' is not of type ['object', 'null'] "
                           "[Kubernetes 1.31 only]")


def test_a_secret_key_hides_the_errors_that_would_spell_it_and_no_others() -> None:
    # The secret is reported at its map; the unknown-key error at the key itself would print the token, and an
    # error inside the same map is held back with it; an error elsewhere still shows.
    problems = problems_of(REQUIRED + f"llama:\n  {TOKEN}: 1\n  contextSize: 100\nproxy:\n  keyReloadSeconds: 0\n")
    assert problems == [
        f"values/prod.yaml::llama (line 4): a key here looks like a GitHub token; {credentials.ADVICE} (secret-github-token)",
        "values/prod.yaml::proxy.keyReloadSeconds (line 8): 0 is out of range: expected 1 to 3600",
    ]


def test_a_problem_is_pinned_to_the_nearest_parent_a_file_set() -> None:
    where: Where = {("llama",): ("values/_shared.yaml", 2), ("llama", "resources"): ("values/prod.yaml", 9)}
    problem = pin(("llama", "resources", "limits"), "too small", "values/prod.yaml", where)
    assert str(problem) == "values/prod.yaml::llama.resources.limits (line 9): too small"


def test_a_problem_no_file_set_is_at_the_top_level_of_the_environments_file_and_keeps_its_rule() -> None:
    problem = pin((), "'hostname' is a required property", "values/prod.yaml", {}, rule="r")
    assert str(problem) == "values/prod.yaml::(top level): 'hostname' is a required property (r)"
    assert problems_of("m: 1\n", {"type": "object", "required": ["n"]}) == ["values/prod.yaml::(top level): 'n' is a required property"]


def test_a_credential_in_the_schemas_defaults_is_named_as_theirs(tmp_path: Path) -> None:
    (tmp_path / "values").mkdir()
    (tmp_path / "values/prod.yaml").write_text("{}\n")
    url = {"type": "string", "default": "https://x-access-token:hunter2@github.com/example/gemma-gitops.git"}
    with pytest.raises(ValuesError) as caught:
        load_environment("prod", Settings(root=tmp_path), {"type": "object", "properties": {"repoURL": url}})
    assert [str(p) for p in caught.value.problems] == [
        f"(schema defaults)::repoURL: the value looks like a URL with a password in it; {credentials.ADVICE} "
        "(secret-url-credentials)"]


# -- environments ----------------------------------------------------------------------------------


def test_an_environment_name_may_have_63_characters_not_64(tmp_path: Path) -> None:
    (tmp_path / "values").mkdir()
    longest, too_long = "e" * 63, "e" * 64
    for name in (longest, too_long):
        (tmp_path / f"values/{name}.yaml").write_text(REQUIRED)
    assert load_environment(longest, Settings(root=tmp_path), SCHEMA).data["hostname"] == "gemma.example.com"
    with pytest.raises(ValuesError) as caught:
        load_environment(too_long, Settings(root=tmp_path), SCHEMA)
    assert caught.value.message == (f"values/{too_long}.yaml: environment name '{too_long}' must be a lowercase RFC 1123 "
                                    "label of at most 63 characters (it names a directory and an Application)")


def test_an_unknown_environment_in_a_project_without_any(tmp_path: Path) -> None:
    (tmp_path / "values").mkdir()
    with pytest.raises(ValuesError) as caught:
        load_environment("prod", Settings(root=tmp_path), SCHEMA)
    assert caught.value.message == "unknown environment 'prod': no values/prod.yaml (environments: none)"


def test_extra_layers_are_made_from_the_merged_files_and_placed_above_them() -> None:
    below: list[dict[str, Any]] = []

    def extra(merged: dict[str, Any]) -> list[Layer]:
        below.append(merged)
        return [Layer("--set", {"llama": {"contextSize": merged["llama"]["contextSize"] // 2}})]

    both = Settings(root=REPO, envs=("prod", "staging"))
    loaded = {values.name: values for values in load_all(both, extra)}
    files = {name: load_environment(name, both, SCHEMA) for name in ("prod", "staging")}
    assert [merged["hostname"] for merged in below] == [files["prod"].data["hostname"], files["staging"].data["hostname"]]
    for name in ("prod", "staging"):
        assert loaded[name].data["llama"]["contextSize"] == files[name].data["llama"]["contextSize"] // 2
    assert loaded["prod"].data["llama"]["parallel"] == files["prod"].data["llama"]["parallel"]  # the rest is kept


def test_a_project_without_environments_is_told_how_to_add_one(tmp_path: Path) -> None:
    (tmp_path / "values").mkdir()
    (tmp_path / "values/_shared.yaml").write_text(REQUIRED)  # a layer, not an environment
    with pytest.raises(ValuesError) as caught:
        load_all(Settings(root=tmp_path))
    assert caught.value.message == "no environments: add a values file such as values/prod.yaml"


def test_kubernetes_versions_none_of_which_is_vendored_are_checked_as_the_newest_vendored_one() -> None:
    # Image volumes arrived in 1.31: the newest vendored version has them, so no error, and no older one is asked.
    volume = "extraVolumes:\n  - {name: weights, image: {reference: registry.example.com/weights:1}}\n"
    assert problems_of(REQUIRED + "kubernetesVersions: ['1.99']\n" + volume) == []
    assert problems_of(REQUIRED + "kubernetesVersions: ['1.30', '1.99']\n" + volume) == [
        "values/prod.yaml::extraVolumes[0].image (line 6): unknown key 'image'; allowed here: awsElasticBlockStore, "
        "azureDisk, azureFile, cephfs, cinder, configMap, csi, downwardAPI, emptyDir, ephemeral, fc, flexVolume, flocker, "
        "gcePersistentDisk, gitRepo, glusterfs, hostPath, iscsi, name, nfs, persistentVolumeClaim, photonPersistentDisk, "
        "portworxVolume, projected, quobyte, rbd, scaleIO, secret, storageos, vsphereVolume"]


def test_every_upstream_error_of_an_item_is_reported_once() -> None:
    volume = "extraVolumes:\n  - {name: a, image: registry, nfs: 1}\n"
    assert problems_of(REQUIRED + "kubernetesVersions: ['1.31', '1.34']\n" + volume) == [
        "values/prod.yaml::extraVolumes[0].image (line 6): 'registry' is not of type ['object', 'null']",
        "values/prod.yaml::extraVolumes[0].nfs (line 6): 1 is not of type ['object', 'null']"]


@pytest.mark.parametrize(("versions", "expected"), [
    ("[[1, 31]]", "values/prod.yaml::kubernetesVersions[0] (line 4): a list is not of type 'string'"),
    ("'1.31'", "values/prod.yaml::kubernetesVersions (line 4): '1.31' is not of type 'array' (Kubernetes minor versions"),
    ("null", "values/prod.yaml::kubernetesVersions (line 4): None is not of type 'array' (Kubernetes minor versions"),
], ids=["list-of-lists", "string", "null"])
def test_malformed_kubernetes_versions_are_a_schema_error_not_a_crash(versions: str, expected: str) -> None:
    [problem] = problems_of(REQUIRED + f"kubernetesVersions: {versions}\n")
    assert problem.startswith(expected)


@pytest.mark.parametrize(("content", "cause"), [
    (None, "[Errno 2] No such file or directory: '{path}'"),
    (b"\xff{}", "'utf-8' codec can't decode byte 0xff in position 0: invalid start byte"),
    (b"{", "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"),
    (b'{"type": 5}', "not a valid JSON Schema: 5 is not valid under any of the given schemas"),
    (b"true", "not a JSON object"),  # a valid JSON Schema, but values need properties
], ids=["missing", "not-utf-8", "not-json", "not-a-json-schema", "not-an-object"])
def test_a_values_schema_that_cannot_be_read_is_an_error_naming_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                    content: bytes | None, cause: str) -> None:
    path = tmp_path / "values.schema.json"  # an installation whose package data went missing or bad
    if content is not None:
        path.write_bytes(content)
    monkeypatch.setattr(settings, "PACKAGED_SCHEMA", path)
    with pytest.raises(ValuesError) as caught:
        load_schema(Settings(root=tmp_path))
    assert caught.value.message == f"cannot read the values schema {path}: {cause.format(path=path)}"


def test_problems_are_listed_by_key_path_not_in_the_schemas_order() -> None:
    schema = {"type": "object", "properties": {"zone": {"type": "integer"}, "app": {"type": "integer"}}}
    assert problems_of("app: x\nzone: y\n", schema) == ["values/prod.yaml::app (line 1): 'x' is not of type 'integer'",
                                                         "values/prod.yaml::zone (line 2): 'y' is not of type 'integer'"]


def test_where_the_values_schema_speaks_upstreams_error_at_the_same_key_is_not_repeated() -> None:
    assert problems_of(REQUIRED + "tolerations:\n  - {key: a, operator: Exists, tolerationSeconds: soon}\n") == [
        "values/prod.yaml::tolerations[0].tolerationSeconds (line 5): 'soon' is not of type 'integer' "
        "(How long a NoExecute taint is tolerated before eviction.)"]
