"""Scheduling, images and pod metadata: typed values, checked against the upstream Kubernetes types, rendered into the pod."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Run
from tests.platform.conftest import WriteEnv, docs_for, line_of, pod, rendered, values_errors


def test_scheduling_reaches_the_pod() -> None:
    toleration = {"key": "dedicated", "operator": "Equal", "value": "llm", "effect": "NoSchedule"}
    affinity = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "node.kubernetes.io/instance-type", "operator": "In", "values": ["VM.Standard.A1.Flex"]}]}]}}}
    spread = {"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "DoNotSchedule",
              "labelSelector": {"matchLabels": {"app": "gemma"}}}
    spec = pod(docs_for(tolerations=[toleration], affinity=affinity, topologySpreadConstraints=[spread],
                        priorityClassName="llm-serving", runtimeClassName="gvisor", nodeSelector={"pool": "llm"}))
    assert spec["tolerations"] == [toleration]
    assert spec["affinity"] == affinity
    assert spec["topologySpreadConstraints"] == [spread]
    assert (spec["priorityClassName"], spec["runtimeClassName"]) == ("llm-serving", "gvisor")
    # Maps merge key by key: the default arch stays unless the values name another.
    assert spec["nodeSelector"] == {"kubernetes.io/arch": "arm64", "pool": "llm"}


def test_none_of_it_by_default() -> None:
    spec = pod(docs_for())
    for key in ("tolerations", "affinity", "topologySpreadConstraints", "priorityClassName", "runtimeClassName",
                "imagePullSecrets"):
        assert key not in spec
    assert spec["nodeSelector"] == {"kubernetes.io/arch": "arm64"}


def test_pod_labels_and_annotations_add_to_ours() -> None:
    docs = docs_for(podLabels={"team": "ml"}, podAnnotations={"example.com/owner": "ml"})
    metadata = docs["Deployment/gemma"]["spec"]["template"]["metadata"]
    assert metadata["labels"] == {"app": "gemma", "team": "ml"}
    assert list(metadata["annotations"]) == ["checksum/proxy-config", "example.com/owner"]
    assert docs["Deployment/gemma"]["spec"]["selector"] == {"matchLabels": {"app": "gemma"}}  # the selector is ours alone


def test_image_pull_secrets_and_a_mirror_with_a_digest() -> None:
    digest = "@sha256:" + "a" * 64
    docs = docs_for(imagePullSecrets=[{"name": "mirror"}], llama__image=f"mirror.example.com/llama.cpp:server-b11434{digest}",
                    proxy__image=f"mirror.example.com/openresty:1.27.1.2-alpine{digest}")
    spec = pod(docs)
    assert spec["imagePullSecrets"] == [{"name": "mirror"}]
    assert [c["image"] for c in spec["containers"]] == [f"mirror.example.com/openresty:1.27.1.2-alpine{digest}",
                                                        f"mirror.example.com/llama.cpp:server-b11434{digest}"]


def test_service_type_and_annotations() -> None:
    service = docs_for(service={"type": "LoadBalancer", "annotations": {"oci.oraclecloud.com/load-balancer-type": "nlb"}})
    assert service["Service/gemma"]["spec"]["type"] == "LoadBalancer"
    assert service["Service/gemma"]["metadata"]["annotations"]["oci.oraclecloud.com/load-balancer-type"] == "nlb"


@pytest.mark.parametrize(("changes", "expected"), [
    ({"tolerations": [{"key": "a", "effect": "Sometimes"}]},
     "values/prod.yaml::tolerations[0].effect: 'Sometimes' is not one of 'NoSchedule', 'PreferNoSchedule', 'NoExecute'"),
    ({"tolerations": [{"key": "a", "tolerate": True}]},
     "values/prod.yaml::tolerations[0].tolerate: unknown key 'tolerate'; allowed here: effect, key, operator, tolerationSeconds, value"),
    ({"tolerations": {"key": "a"}}, "values/prod.yaml::tolerations: a mapping is not of type 'array'"),
    ({"affinity": {"nodeAffinity": {"required": {}}}},
     "values/prod.yaml::affinity.nodeAffinity.required: unknown key 'required'; allowed here: "
     "preferredDuringSchedulingIgnoredDuringExecution, requiredDuringSchedulingIgnoredDuringExecution"),
    ({"affinity": {"podAntiAffinty": {}}}, "values/prod.yaml::affinity.podAntiAffinty: unknown key 'podAntiAffinty'"),
    ({"topologySpreadConstraints": [{"maxSkew": "one", "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule"}]},
     "values/prod.yaml::topologySpreadConstraints[0].maxSkew: 'one' is not of type 'integer'"),
    ({"topologySpreadConstraints": [{"maxSkew": 1}]},
     "values/prod.yaml::topologySpreadConstraints[0]: 'topologyKey' is a required property"),
    ({"priorityClassName": "High Priority"}, "values/prod.yaml::priorityClassName: 'High Priority' is not valid"),
    ({"podLabels": {"team": "not a label value"}}, "values/prod.yaml::podLabels.team: 'not a label value' is not valid"),
    ({"podLabels": {"bad key!": "x"}}, "values/prod.yaml::podLabels: 'bad key!' is not valid"),
    ({"imagePullSecrets": ["mirror"]}, "values/prod.yaml::imagePullSecrets[0]: 'mirror' is not of type 'object'"),
    ({"service": {"type": "ExternalName"}}, "values/prod.yaml::service.type: 'ExternalName' is not one of 'ClusterIP', 'NodePort', 'LoadBalancer'"),
    ({"service": {"port": 81}}, "values/prod.yaml::service.port: unknown key 'port'; allowed here: annotations, type"),
])
def test_bad_scheduling_values_name_the_key_and_what_is_allowed(changes: dict[str, Any], expected: str) -> None:
    errors = values_errors(**changes)
    assert any(e.startswith(expected) for e in errors), errors


@pytest.mark.parametrize(("changes", "expected"), [
    ({"podLabels": {"app": "other"}}, "values/prod.yaml::podLabels.app: label 'app' is ours"),
    ({"podAnnotations": {"checksum/proxy-config": "0"}},
     "values/prod.yaml::podAnnotations.checksum/proxy-config: annotation 'checksum/proxy-config' is ours"),
])
def test_our_label_and_checksum_cannot_be_overridden(run: Run, project: Path, write_env: WriteEnv,
                                                     changes: dict[str, Any], expected: str) -> None:
    path = write_env(changes)
    result = run("render", "edge")
    assert result.exit_code == 2
    line = line_of(path, "app: other" if "podLabels" in changes else "checksum/proxy-config")
    assert f"  {expected.replace('prod', 'edge').split('::')[0]}::{expected.split('::')[1].split(':')[0]} (line {line}):" in result.output
    assert expected.split(": ", 1)[1] in result.output
    assert not (project / "rendered").exists()


def test_a_bad_toleration_names_the_values_file_and_line(run: Run, project: Path, write_env: WriteEnv) -> None:
    path = write_env({"tolerations": [{"key": "dedicated", "operator": "Equal", "value": "llm", "effect": "NoSchedul"}]})
    result = run("render", "edge")
    assert result.exit_code == 2
    assert (f"  values/edge.yaml::tolerations[0].effect (line {line_of(path, 'effect: NoSchedul')}): 'NoSchedul' is not one of "
            "'NoSchedule', 'PreferNoSchedule', 'NoExecute'") in result.output.splitlines()
    assert not (project / "rendered").exists()


def test_an_upstream_field_of_a_newer_kubernetes_names_the_versions_that_lack_it() -> None:
    # Image volumes (Volume.image) arrived in Kubernetes 1.31: an environment that still runs 1.25 cannot use one.
    errors = values_errors(kubernetesVersions=["1.25", "1.31"],
                           extraVolumes=[{"name": "weights", "image": {"reference": "registry.example.com/weights:1"}}])
    assert len(errors) == 1
    assert errors[0].startswith("values/prod.yaml::extraVolumes[0].image: unknown key 'image'; allowed here: awsElasticBlockStore")
    assert errors[0].endswith(" [Kubernetes 1.25 only]")
    assert values_errors(kubernetesVersions=["1.31", "1.34"],
                         extraVolumes=[{"name": "weights", "image": {"reference": "registry.example.com/weights:1"}}]) == []


def test_rendered_scheduling_validates_against_the_cluster_schemas(run: Run, project: Path, write_env: WriteEnv) -> None:
    write_env({"tolerations": [{"operator": "Exists"}], "priorityClassName": "llm", "podLabels": {"team": "ml"},
               "imagePullSecrets": [{"name": "mirror"}], "service": {"type": "NodePort"},
               "acknowledge": {"service-exposed": "an extra NetworkPolicy admits the node ports"}})
    assert run("render", "edge").exit_code == 0
    result = run("validate")
    assert result.exit_code == 0, result.output
    assert rendered(project)["Service/gemma"]["spec"]["type"] == "NodePort"


def test_an_exposed_service_warns_that_our_network_policy_drops_its_traffic(run: Run, write_env: WriteEnv) -> None:
    write_env({"service": {"type": "LoadBalancer"}})
    result = run("render", "edge")
    assert result.exit_code == 0
    assert ("warning: values/edge.yaml::service.type: a LoadBalancer Service sends traffic from outside the cluster straight "
            "to the pod, which our NetworkPolicy drops: it admits only namespace 'envoy-gateway-system'. Admit that traffic "
            "with a NetworkPolicy in values/edge/extra/, or keep ClusterIP (service-exposed)") in result.output
