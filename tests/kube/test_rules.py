"""Cross-resource rules, one scope of in-memory resources at a time."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from generator.kube.rules import MODULES, RULES, Scope, documentation
from generator.kube.rules.base import selector_matches
from generator.manifest import Manifest


def resource(body: dict[str, Any], label: str = "x.yaml") -> Manifest:
    """A resource as loading a file would produce it."""
    return Manifest(label, body, label=label)


def scope(*bodies: dict[str, Any], root: Path = Path("/")) -> Scope:
    """A scope over bodies labelled by kind."""
    resources = tuple(resource(b, f"{b['kind'].lower()}-{i}.yaml") for i, b in enumerate(bodies))
    return Scope("test", root, resources, lambda directory, recurse: ())


def findings(rule_id: str, *bodies: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(label, path, message) of one rule's findings."""
    return [(f.file, f.path, f.message) for f in RULES[rule_id](scope(*bodies))]


def deployment(labels: dict[str, str] | None = None, **spec: Any) -> dict[str, Any]:
    """A Deployment whose pod template has the given labels and pod spec fields."""
    labels = labels or {"app": "gemma"}
    pod = {"containers": [{"name": "auth-proxy", "image": "x", "ports": [{"name": "http", "containerPort": 8080}]}]}
    pod.update(spec)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "gemma", "namespace": "gemma"},
        "spec": {"selector": {"matchLabels": labels}, "template": {"metadata": {"labels": labels}, "spec": pod}},
    }


def service(selector: dict[str, str] | None = None, target: Any = "http", port: int = 80) -> dict[str, Any]:
    """A Service of one port."""
    spec: dict[str, Any] = {"ports": [{"port": port, "targetPort": target}]}
    if selector is not None:
        spec["selector"] = selector
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "gemma", "namespace": "gemma"}, "spec": spec}


def network_policy(*ports: dict[str, Any], ingress: bool = True) -> dict[str, Any]:
    """A NetworkPolicy for app=gemma admitting the given ports."""
    spec: dict[str, Any] = {"podSelector": {"matchLabels": {"app": "gemma"}}}
    if ingress:
        spec["ingress"] = [{"ports": list(ports)}] if ports else [{}]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "np", "namespace": "gemma"},
        "spec": spec,
    }


def test_every_rule_documents_itself() -> None:
    assert len(RULES) == len(MODULES)
    for module in MODULES:
        doc = documentation(module.ID)
        assert doc.startswith(f"{module.ID}: "), module.ID
        assert "Pass::" in doc and "Fail" in doc, module.ID


@pytest.mark.parametrize(
    ("selector", "labels", "expected"),
    [
        ({}, {"app": "a"}, True),
        ({"matchLabels": {"app": "a"}}, {"app": "a", "x": "y"}, True),
        ({"matchLabels": {"app": "b"}}, {"app": "a"}, False),
        ({"matchExpressions": [{"key": "app", "operator": "In", "values": ["a", "b"]}]}, {"app": "a"}, True),
        ({"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["a"]}]}, {"app": "a"}, False),
        ({"matchExpressions": [{"key": "tier", "operator": "Exists"}]}, {"app": "a"}, False),
        ({"matchExpressions": [{"key": "tier", "operator": "DoesNotExist"}]}, {"app": "a"}, True),
    ],
)
def test_label_selectors(selector: dict[str, Any], labels: dict[str, str], expected: bool) -> None:
    assert selector_matches(selector, labels) is expected


def test_service_selector() -> None:
    assert findings("service-selector", deployment(), service({"app": "gemma"})) == []
    assert findings("service-selector", deployment(), service(None)) == []
    assert findings("service-selector", deployment(), service({"app": "gema"})) == [
        (
            "service-1.yaml",
            "$.spec.selector",
            (
                "selector app=gema matches no pod template of a rendered workload in namespace 'gemma'"
                " (Deployment 'gemma' has app=gemma)"
            ),
        )
    ]


@pytest.mark.parametrize(("target", "ok"), [("http", True), (8080, True), ("htp", False), (8081, False)])
def test_service_target_port(target: Any, ok: bool) -> None:
    found = findings("service-target-port", deployment(), service({"app": "gemma"}, target))
    expected = (
        []
        if ok
        else [
            (
                "service-1.yaml",
                "$.spec.ports[0].targetPort",
                f"targetPort {target!r} is not a container port of Deployment 'gemma' (ports: http=8080/TCP)",
            )
        ]
    )
    assert found == expected


def test_service_port_is_the_target_when_target_port_is_absent() -> None:
    svc = service({"app": "gemma"}, port=8080)
    del svc["spec"]["ports"][0]["targetPort"]
    assert findings("service-target-port", deployment(), svc) == []


def test_route_backend_to_a_missing_service() -> None:
    route = {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": "r", "namespace": "gemma"},
        "spec": {"rules": [{"backendRefs": [{"name": "other", "port": 80}]}]},
    }
    assert findings("route-backend", route, service({"app": "gemma"})) == [
        (
            "httproute-0.yaml",
            "$.spec.rules[0].backendRefs[0].name",
            "no Service 'other' is rendered in namespace 'gemma'",
        )
    ]


def test_route_backend_ignores_non_service_backends() -> None:
    route = {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": "r"},
        "spec": {"rules": [{"backendRefs": [{"group": "example.com", "kind": "Bucket", "name": "b"}]}]},
    }
    assert findings("route-backend", route) == []


def test_volume_mount_accepts_statefulset_claim_templates() -> None:
    sts = deployment(containers=[{"name": "c", "image": "x", "volumeMounts": [{"name": "data", "mountPath": "/d"}]}])
    sts["kind"] = "StatefulSet"
    sts["spec"]["volumeClaimTemplates"] = [{"metadata": {"name": "data"}}]
    assert findings("volume-mount", sts) == []


def test_config_ref_skips_optional_and_counts_external_secret_targets() -> None:
    pod = deployment(
        containers=[
            {
                "name": "c",
                "image": "x",
                "env": [{"name": "A", "valueFrom": {"secretKeyRef": {"name": "maybe", "key": "k", "optional": True}}}],
                "envFrom": [{"secretRef": {"name": "made"}}, {"configMapRef": {"name": "cm"}}],
            }
        ],
    )
    external = {
        "apiVersion": "external-secrets.io/v1",
        "kind": "ExternalSecret",
        "metadata": {"name": "made", "namespace": "gemma"},
        "spec": {},
    }
    assert findings("config-ref", pod, external) == [
        (
            "deployment-0.yaml",
            "$.spec.template.spec.containers[0].envFrom[1].configMapRef.name",
            "ConfigMap 'cm' is used but not rendered in namespace 'gemma' (expected a ConfigMap of that name)",
        )
    ]


def test_config_ref_counts_certificate_secrets_and_projected_volumes() -> None:
    pod = deployment(volumes=[{"name": "v", "projected": {"sources": [{"secret": {"name": "tls"}}]}}])
    cert = {
        "apiVersion": "cert-manager.io/v1",
        "kind": "Certificate",
        "metadata": {"name": "c", "namespace": "gemma"},
        "spec": {"secretName": "tls"},
    }
    assert findings("config-ref", pod, cert) == []
    assert [f[1] for f in findings("config-ref", pod)] == [
        "$.spec.template.spec.volumes[0].projected.sources[0].secret.name"
    ]


@pytest.mark.parametrize(
    ("ports", "ok"),
    [
        ([{"port": 8080}], True),
        ([{"port": "http"}], True),
        ([{"port": 8000, "endPort": 8100}], True),
        ([], True),  # a rule without ports admits every port
        ([{"port": 8080, "protocol": "UDP"}], False),
        ([{"port": 8081}], False),
    ],
)
def test_network_policy_admits_the_target_port(ports: list[dict[str, Any]], ok: bool) -> None:
    found = findings("network-policy", deployment(), service({"app": "gemma"}), network_policy(*ports))
    assert (found == []) is ok


def test_network_policy_must_select_the_pods() -> None:
    assert findings("network-policy", deployment(), service({"app": "gemma"})) == [
        ("service-1.yaml", "$.spec.selector", "no NetworkPolicy selects the pods of Deployment 'gemma' for Ingress")
    ]


def test_network_policy_without_ingress_rules_denies_all() -> None:
    found = findings("network-policy", deployment(), service({"app": "gemma"}), network_policy(ingress=False))
    assert [(f[0], f[1]) for f in found] == [("networkpolicy-2.yaml", "$.spec")]


def test_network_policy_for_egress_only_does_not_govern_ingress() -> None:
    policy = network_policy()
    policy["spec"]["policyTypes"] = ["Egress"]
    assert [f[2] for f in findings("network-policy", deployment(), service({"app": "gemma"}), policy)] == [
        "no NetworkPolicy selects the pods of Deployment 'gemma' for Ingress"
    ]


def test_probe_port_grpc_and_named_ports() -> None:
    pod = deployment(
        containers=[
            {
                "name": "c",
                "image": "x",
                "ports": [{"name": "grpc", "containerPort": 9000}],
                "livenessProbe": {"grpc": {"port": 9000}},
                "readinessProbe": {"tcpSocket": {"port": "grpc"}},
            }
        ]
    )
    assert findings("probe-port", pod) == []


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("4Gi", True),
        ("500m", True),
        ("1.5", True),
        ("2e3", True),
        (2, True),
        ("4GB", False),
        ("4 Gi", False),
        ("-", False),
    ],
)
def test_resource_quantity(value: Any, ok: bool) -> None:
    pvc = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "p"},
        "spec": {"resources": {"requests": {"storage": value}}},
    }
    assert (findings("resource-quantity", pvc) == []) is ok


def test_argocd_application_path_must_stay_inside_the_root(tmp_path: Path) -> None:
    app = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "a"},
        "spec": {"source": {"path": "../outside"}, "destination": {"namespace": "gemma"}},
    }
    (tmp_path.parent / "outside").mkdir(exist_ok=True)
    found = [(f.path, f.message) for f in RULES["argocd-application"](scope(app, root=tmp_path))]
    assert found == [
        ("$.spec.source.path", "'../outside' does not exist under the project root (run the render first?)")
    ]


def test_argocd_application_skips_helm_chart_sources(tmp_path: Path) -> None:
    app = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "a"},
        "spec": {"sources": [{"chart": "external-secrets", "path": "nowhere"}], "destination": {"namespace": "x"}},
    }
    assert list(RULES["argocd-application"](scope(app, root=tmp_path))) == []


def test_rules_survive_malformed_documents() -> None:
    """Wrong types are the schema check's to report; no rule may raise on them."""
    weird = [
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": "x",
            "spec": {"template": {"spec": {"containers": "no"}}},
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "spec": {"selector": {"app": "a"}, "ports": [1, None, {"targetPort": []}]},
        },
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "spec": {"ingress": [{"ports": ["x", {"port": [1]}, {"port": 1, "endPort": "x"}]}]},
        },
        {
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "HTTPRoute",
            "spec": {"rules": [None, {"backendRefs": [3]}]},
        },
        {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "spec": {"source": [], "sources": "x"}},
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "spec": {"containers": [{"livenessProbe": {"httpGet": "x"}, "resources": 5}]},
        },
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"labels": {1: "a", "b": "c"}},
            "spec": {
                "volumes": [{"name": "v", "configMap": {"name": ["x"]}}],
                "containers": [
                    {"name": "c", "volumeMounts": [{"name": ["v"]}], "envFrom": [{"secretRef": {"name": {}}}]}
                ],
            },
        },
        {"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret", "spec": {"target": {"name": ["x"]}}},
        {"apiVersion": "v1", "kind": "Service", "spec": {"selector": {1: "a"}, "ports": [{"port": 1}]}},
    ]
    for rule in RULES.values():
        list(rule(scope(*weird)))
