"""Native checks of built-in kinds: every check has a negative fixture; version- and size-dependent cases."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from generator.kube.native import CHECKS, native_findings
from tests.kube.conftest import NEGATIVE

DEPLOYMENT: dict[str, Any] = {
    "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "gemma", "namespace": "gemma"},
    "spec": {"selector": {"matchLabels": {"app": "gemma"}}, "template": {
        "metadata": {"labels": {"app": "gemma"}},
        "spec": {"containers": [{"name": "llama-server", "image": "ghcr.io/ggml-org/llama.cpp:server-b11434"}]}}},
}


def deployment(**env: str) -> dict[str, Any]:
    """The minimal Deployment, with env variables."""
    body = copy.deepcopy(DEPLOYMENT)
    body["spec"]["template"]["spec"]["containers"][0]["env"] = [{"name": k, "value": v} for k, v in env.items()]
    return body


@pytest.mark.parametrize("check_id", sorted(c.id for c in CHECKS))
def test_every_check_has_a_negative_fixture(check_id: str) -> None:
    expected = "".join(p.read_text(encoding="utf-8") for p in NEGATIVE.glob("native-*/expected.txt"))
    assert f"(native:{check_id})" in expected


def test_every_check_cites_the_kubernetes_function_it_follows() -> None:
    assert all(c.source.startswith(("kubernetes/pkg/apis/", "apimachinery/pkg/")) for c in CHECKS)
    assert len({c.id for c in CHECKS}) == len(CHECKS)


def test_a_valid_deployment_has_no_findings() -> None:
    assert native_findings(DEPLOYMENT) == []


def test_env_var_names_follow_the_relaxed_rule_from_1_32() -> None:
    body = deployment(**{"MY VAR": "1"})
    assert [f.check_id for f in native_findings(body, "1.31")] == ["env-var"]
    assert native_findings(body, "1.32") == []
    assert [f.message for f in native_findings(deployment(**{"A=B": "1"}), "1.34")] == [
        "Invalid value: \"A=B\": a valid environment variable name must consist only of printable ASCII characters"
        " other than '='"]


def test_annotations_may_not_exceed_256_kib_in_all() -> None:
    body = copy.deepcopy(DEPLOYMENT)
    body["metadata"]["annotations"] = {"a": "x" * (256 * 1024 - 1)}
    assert native_findings(body) == []
    body["metadata"]["annotations"]["b"] = "x"
    [found] = native_findings(body)
    assert (found.json_path, found.message) == ("$.metadata.annotations", "Too long: must have at most 262144 bytes")


def test_configmap_data_may_not_exceed_1_mib() -> None:
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "b"},
            "data": {"big": "x" * (1024 * 1024 + 1)}}
    assert [(f.json_path, f.message) for f in native_findings(body)] == [("$", "Too long: must have at most 1048576 bytes")]


def test_custom_resources_named_like_built_in_kinds_are_not_checked() -> None:
    body = copy.deepcopy(DEPLOYMENT)
    body["apiVersion"] = "example.com/v1"
    body["metadata"]["name"] = "Not_A_DNS_Name"
    assert native_findings(body) == []
    assert native_findings({**body, "apiVersion": "apps/v1"}) != []


@pytest.mark.parametrize(("requests", "limits", "message"), [
    ({"memory": "4Gi"}, {"memory": "4096Mi"}, None),
    ({"cpu": "500m"}, {"cpu": "0.5"}, None),
    ({"memory": "5Gi"}, {"memory": "4Gi"}, 'Invalid value: "5Gi": must be less than or equal to memory limit of 4Gi'),
    ({"nvidia.com/gpu": 1}, {"nvidia.com/gpu": 2}, 'Invalid value: "1": must be equal to nvidia.com/gpu limit of 2'),
])
def test_requests_against_limits(requests: dict[str, Any], limits: dict[str, Any], message: str | None) -> None:
    body = copy.deepcopy(DEPLOYMENT)
    body["spec"]["template"]["spec"]["containers"][0]["resources"] = {"requests": requests, "limits": limits}
    assert [f.message for f in native_findings(body)] == ([message] if message else [])
