"""Metrics in the pod's view and the Prometheus Operator's objects: rendered for real, validated for real against
the vendored monitoring.coreos.com schemas (`gemma-gitops validate`, no network), the dashboard deterministic."""

from __future__ import annotations

import json
from pathlib import Path

from generator import monitoring
from tests.conftest import Run
from tests.plans import plan_for
from tests.platform.conftest import WriteEnv, container, docs_for, render_ok, rendered, validate_ok

ALL_ON = {"metrics": {"podMonitor": {"enabled": True, "interval": "15s", "labels": {"release": "kube-prometheus"}},
                      "prometheusRule": {"enabled": True, "labels": {"release": "kube-prometheus", "app": "not-ours"}},
                      "dashboard": {"enabled": True}}}


def test_the_operators_objects_render_and_validate_against_their_schemas(run: Run, project: Path,
                                                                         write_env: WriteEnv) -> None:
    write_env(ALL_ON)
    render_ok(run, "edge")
    assert validate_ok(run).endswith("Invalid: 0, Errors: 0, Skipped: 0")
    docs = rendered(project)
    monitor = docs["PodMonitor/gemma"]
    assert monitor["metadata"]["labels"] == {"app": "gemma", "release": "kube-prometheus"}
    assert monitor["spec"]["selector"] == {"matchLabels": {"app": "gemma"}}
    assert [(e["port"], e["path"], e["interval"]) for e in monitor["spec"]["podMetricsEndpoints"]] == [
        ("metrics", "/metrics", "15s"), ("metrics", "/metrics/llama-server", "15s")]
    rule = docs["PrometheusRule/gemma"]
    assert rule["metadata"]["labels"] == {"app": "gemma", "release": "kube-prometheus"}  # the selector's label wins
    alerts = [r for group in rule["spec"]["groups"] for r in group["rules"]]
    assert {a["alert"] for a in alerts} == {a.name for a in monitoring.alerts(plan_for("prod"))}
    for alert in alerts:
        assert alert["for"] and alert["labels"]["severity"] in ("critical", "warning"), alert
        assert alert["annotations"]["summary"] and "README.md#monitoring" in alert["annotations"]["runbook"], alert
    dashboard = docs["ConfigMap/gemma-dashboard"]
    assert dashboard["metadata"]["labels"] == {"app": "gemma", "grafana_dashboard": "1"}
    model = json.loads(dashboard["data"]["gemma-dashboard.json"])
    assert [p["title"] for p in model["panels"]] == [p.title for p in monitoring.panels(plan_for("prod"))]


def test_the_rendered_dashboard_and_rules_are_the_same_bytes_every_time(run: Run, project: Path,
                                                                        write_env: WriteEnv) -> None:
    write_env(ALL_ON)
    render_ok(run, "edge")
    first = {p.name: p.read_bytes() for p in (project / "rendered/edge").iterdir()}
    render_ok(run, "edge")
    assert {p.name: p.read_bytes() for p in (project / "rendered/edge").iterdir()} == first


def test_the_metrics_port_is_the_pods_but_never_the_services_nor_the_routes() -> None:
    docs = docs_for("prod")
    proxy = container(docs, "auth-proxy")
    assert {"name": "metrics", "containerPort": 9090, "protocol": "TCP"} in proxy["ports"]
    assert proxy["livenessProbe"]["httpGet"] == {"path": "/metrics", "port": "metrics"}
    assert [p["targetPort"] for p in docs["Service/gemma"]["spec"]["ports"]] == ["http"]
    backends = [b for rule in docs["HTTPRoute/gemma"]["spec"]["rules"] for b in rule["backendRefs"]]
    assert {b["port"] for b in backends} == {80}
    llama = container(docs, "llama-server")
    assert "--metrics" in llama["args"]


def test_the_network_policy_admits_the_metrics_port_from_the_monitoring_namespace_only() -> None:
    docs = docs_for("prod", metrics__monitoringNamespace="observability")
    rules = docs["NetworkPolicy/gemma"]["spec"]["ingress"]
    by_port = {rule["ports"][0]["port"]: rule["from"] for rule in rules}
    assert by_port[9090] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "observability"}}}]
    assert all(len(rule["ports"]) == 1 for rule in rules)
    assert 9090 not in {p["port"] for rule in rules if rule["from"] != by_port[9090] for p in rule["ports"]}


def test_with_metrics_off_nothing_of_it_renders() -> None:
    docs = docs_for("prod", metrics__enabled=False)
    proxy = container(docs, "auth-proxy")
    assert [p["name"] for p in proxy["ports"]] == ["http"]
    assert "--metrics" not in container(docs, "llama-server")["args"]
    assert [r["ports"][0]["port"] for r in docs["NetworkPolicy/gemma"]["spec"]["ingress"]] == [8080]
    assert not any(kind.startswith(("PodMonitor", "PrometheusRule", "ConfigMap/gemma-dashboard")) for kind in docs)


def test_an_operator_object_without_metrics_and_a_shared_port_are_refused(run: Run, write_env: WriteEnv) -> None:
    path = write_env({"metrics": {"enabled": False, "prometheusRule": {"enabled": True}}})
    result = run("render", "edge")
    assert result.exit_code == 1, result.output
    assert f"{path.relative_to(path.parents[1])}" in result.output
    assert "metrics.prometheusRule needs metrics.enabled" in result.output and "(metrics-needed)" in result.output
    write_env({"metrics": {"port": 8080}})
    result = run("render", "edge")
    assert result.exit_code == 1 and "proxy.port and metrics.port are both 8080" in result.output, result.output
