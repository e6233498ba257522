"""The PrometheusRule's alerts and the Grafana dashboard, each from one Python definition here.

Every query names only metrics the end-to-end tests saw exposed (tests/e2e/seen-metrics.txt, checked by
tests/unit/test_monitoring.py with a real PromQL parser), except cAdvisor's container memory, which the
kubelet exposes and no test without a cluster can see (EXTERNAL_METRICS). Series are selected by the
namespace the PodMonitor's targets carry (`namespace`, from the pod), so a scrape configuration of the
team's own works as well.

Metric sources: the auth proxy's `gemma_proxy_` series (generator/templates/proxy/metrics.lua) and
llama-server's `llamacpp:` series (tools/server/server-context.cpp at b11434, `--metrics`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .capacity.quantity import parse_bytes
from .plan import Plan

# Reasons the proxy refuses a request for its credentials (auth.lua's REFUSALS): a flood of these is
# someone guessing keys, or a client with a revoked one.
BAD_KEY_REASONS = ("auth_throttled", "malformed", "no_header", "wrong_key")
# Names no test can see: cAdvisor's, which the kubelet exposes for every container and
# kube-prometheus-stack scrapes (github.com/google/cadvisor/blob/master/docs/storage/prometheus.md).
EXTERNAL_METRICS = {"container_memory_working_set_bytes": "cAdvisor, through the kubelet"}
DASHBOARD_UID_PREFIX = "gemma-"
README_MONITORING = "README.md#monitoring"


@dataclass(frozen=True)
class Alert:
    """One alerting rule: its expression, how long it must hold, its severity and what to do."""

    name: str
    expr: str
    for_: str
    severity: str
    summary: str
    runbook: str

    def to_rule(self) -> dict[str, Any]:
        """The rule as the PrometheusRule's spec.groups[].rules[] holds it."""
        return {
            "alert": self.name, "expr": self.expr, "for": self.for_, "labels": {"severity": self.severity},
            "annotations": {"summary": self.summary, "runbook": f"{self.runbook} ({README_MONITORING})"},
        }


def selector(plan: Plan, **matchers: str) -> str:
    """A label selector for this deployment's series, with more matchers (`name="value"` or `name=~"re"`)."""
    parts = [f'namespace="{plan.spec.namespace}"', *(f"{k}{v}" for k, v in sorted(matchers.items()))]
    return "{" + ", ".join(parts) + "}"


def alerts(plan: Plan) -> tuple[Alert, ...]:
    """The alerts README's Monitoring section explains, with the thresholds of the values."""
    rule, mon = plan.spec.metrics.prometheus_rule, plan.monitoring
    ns = selector(plan)
    api = selector(plan, group='!="health"')
    api_5xx = selector(plan, group='!="health"', status='="5xx"')
    bad = selector(plan, reason=f'=~"{"|".join(BAD_KEY_REASONS)}"')
    streamed = selector(plan, stream='="true"')
    return (
        Alert("GemmaMetricsAbsent", f"absent(gemma_proxy_keys_loaded{ns})", "10m", "critical",
              "No auth-proxy metrics from the pod for 10 minutes: no pod running, or Prometheus cannot scrape it",
              "kubectl -n NAMESPACE get pods; if they run, check the PodMonitor's targets in Prometheus and the "
              "NetworkPolicy's metrics rule (metrics.monitoringNamespace)"),
        Alert("GemmaLlamaServerNotReady", f"max by (pod) (gemma_proxy_upstream_ready{ns}) == 0", "5m", "critical",
              "llama-server has not answered its readiness probe with 200 for 5 minutes",
              "kubectl logs POD -c llama-server: a model download or load that fails, or an OOM kill "
              "(kubectl describe pod); `gemma-gitops budget ENV` says what memory it needs"),
        Alert("GemmaProxyFailingClosed", f"min by (pod) (gemma_proxy_keys_loaded{ns}) == 0", "2m", "critical",
              "The auth proxy holds no usable API key and refuses every request with 503",
              "Check the ExternalSecret's status (kubectl get externalsecret) and the Secret's api-key entry; "
              "the proxy's log names what it found wrong, never the key"),
        Alert("GemmaKeyFileStale",
              f"max by (pod) (gemma_proxy_key_file_seconds_since_success{ns}) > {mon.key_rotation_window_seconds}",
              "5m", "warning",
              f"The proxy has not read a usable key file for longer than a key rotation takes "
              f"({mon.key_rotation_window_seconds}s): a rotated key would not take effect",
              "Check the Secret volume and the ExternalSecret's refresh; the proxy's log names the reload error"),
        Alert("GemmaErrorRatio",
              f"sum(rate(gemma_proxy_requests_total{api_5xx}[5m]))"
              f" / sum(rate(gemma_proxy_requests_total{api}[5m])) > {rule.error_ratio:g}", "10m", "warning",
              f"More than {rule.error_ratio:.0%} of API requests end in 5xx",
              "gemma_proxy_upstream_errors_total says whether llama-server fails or times out; "
              "gemma_proxy_refusals_total{reason=\"no_key_configured\"} whether the proxy fails closed"),
        Alert("GemmaUpstreamErrors", f"sum(rate(gemma_proxy_upstream_errors_total{ns}[5m])) > 0", "10m", "warning",
              "llama-server keeps failing or timing out requests (502, 504)",
              "kubectl logs POD -c llama-server; timeouts under load mean too few slots for the traffic "
              "(llama.parallel, or more replicas)"),
        Alert("GemmaBadKeySpike", f"sum(rate(gemma_proxy_refusals_total{bad}[5m])) > {rule.bad_keys_per_second:g}",
              "10m", "warning",
              f"More than {rule.bad_keys_per_second:g} requests a second refused for a missing, malformed or wrong key",
              "The access log's client addresses show who: a client with a revoked key, or someone guessing keys "
              "(the proxy throttles each address; rateLimit or the Gateway can block it)"),
        Alert("GemmaSlowFirstToken",
              f"histogram_quantile(0.95, sum by (le) (rate(gemma_proxy_time_to_first_byte_seconds_bucket"
              f"{streamed}[10m]))) > {rule.time_to_first_token_seconds:g}", "15m", "warning",
              f"The 95th percentile of the time to the first streamed token is over "
              f"{rule.time_to_first_token_seconds:g}s",
              "Long prompts or too many requests for the slots: see llamacpp:requests_deferred and the CPU "
              "throttling of llama-server; raise llama.parallel only within the memory budget"),
        Alert("GemmaRequestsDeferred", f"max by (pod) (llamacpp:requests_deferred{ns}) > 0", "10m", "warning",
              "Requests wait for a free llama-server slot",
              "Every slot is busy: more replicas (autoscaling) or more slots (llama.parallel, within the budget)"),
        Alert("GemmaContextNearFull",
              f"max by (pod) (llamacpp:n_tokens_max{ns}) > {rule.context_full_ratio * mon.slot_context:g}"
              f" and max by (pod) (changes(llamacpp:n_tokens_max{ns}[1h])) > 0", "1m", "warning",
              f"A sequence grew past {rule.context_full_ratio:.0%} of a slot's {mon.slot_context}-token context "
              f"in the last hour",
              "Clients send long conversations: raise llama.contextSize within the budget, or have clients "
              "trim history; a full slot truncates or refuses"),
    )


def rule_groups(plan: Plan) -> list[dict[str, Any]]:
    """The PrometheusRule's spec.groups."""
    return [{"name": f"{plan.names.app}.rules", "rules": [alert.to_rule() for alert in alerts(plan)]}]


# The dashboard ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Panel:
    """One time-series panel: its title, unit and (legend, query) pairs."""

    title: str
    unit: str
    targets: tuple[tuple[str, str], ...]
    description: str = ""


def panels(plan: Plan) -> tuple[Panel, ...]:
    """The dashboard's panels, in reading order."""
    ns, mon, spec = selector(plan), plan.monitoring, plan.spec
    budget = plan.capacity.budget.total if plan.capacity else 0
    limit = parse_bytes(spec.llama.resources.limits.memory)
    streamed = selector(plan, stream='="true"')
    llama = selector(plan, container='="llama-server"')
    return (
        Panel("Tokens per second", "short", (
            ("generated", f"sum(rate(llamacpp:tokens_predicted_total{ns}[5m]))"),
            ("prompt", f"sum(rate(llamacpp:prompt_tokens_total{ns}[5m]))"),
        ), "Tokens llama-server generated and read from prompts (not cached), per second"),
        Panel("Time to first token", "s", (
            ("p50", f"histogram_quantile(0.5, sum by (le) (rate(gemma_proxy_time_to_first_byte_seconds_bucket"
                    f"{streamed}[5m])))"),
            ("p95", f"histogram_quantile(0.95, sum by (le) (rate(gemma_proxy_time_to_first_byte_seconds_bucket"
                    f"{streamed}[5m])))"),
        ), "Streamed calls: from the request's first byte to the first event, at the proxy"),
        Panel("Requests by status", "reqps", (
            ("{{group}} {{status}}", f"sum by (group, status) (rate(gemma_proxy_requests_total{ns}[5m]))"),
        ), "Requests on the API port by endpoint group and status class"),
        Panel("Refusals by reason", "reqps", (
            ("{{reason}}", f"sum by (reason) (rate(gemma_proxy_refusals_total{ns}[5m])) > 0"),
        ), "Requests the proxy answered itself, by the reason its access log names"),
        Panel("Context used (KV cache)", "percentunit", (
            ("largest sequence / slot context", f"max(llamacpp:n_tokens_max{ns}) / {mon.slot_context}"),
        ), f"The longest sequence a slot held since llama-server started, against a slot's {mon.slot_context} tokens"),
        Panel("Slots busy", "short", (
            ("processing", f"sum(llamacpp:requests_processing{ns})"),
            ("deferred", f"sum(llamacpp:requests_deferred{ns})"),
            ("slots", f"{spec.llama.parallel} * count(gemma_proxy_keys_loaded{ns})"),
        ), "Requests in llama-server's slots, and waiting for one"),
        Panel("Active streams", "short", (
            ("streams", f"sum(gemma_proxy_active_streams{ns})"),
        ), "Server-sent event responses being sent now"),
        Panel("llama-server memory against the budget", "bytes", (
            ("{{pod}}", f"max by (pod) (container_memory_working_set_bytes{llama})"),
            ("budget", f"vector({budget})"),
            ("limit", f"vector({limit})"),
        ), "Working set (cAdvisor) against `gemma-gitops budget`'s prediction and the container's limit"),
    )


def dashboard(plan: Plan) -> dict[str, Any]:
    """The Grafana dashboard model (schemaVersion 39): two panels a row, a Prometheus data source variable."""
    built = []
    for index, panel in enumerate(panels(plan)):
        built.append({
            "id": index + 1, "type": "timeseries", "title": panel.title, "description": panel.description,
            "datasource": {"type": "prometheus", "uid": "${datasource}"},
            "gridPos": {"h": 8, "w": 12, "x": 12 * (index % 2), "y": 8 * (index // 2)},
            "fieldConfig": {"defaults": {"unit": panel.unit}, "overrides": []},
            "targets": [{"refId": chr(ord("A") + i), "expr": expr, "legendFormat": legend,
                         "datasource": {"type": "prometheus", "uid": "${datasource}"}}
                        for i, (legend, expr) in enumerate(panel.targets)],
        })
    return {
        "uid": f"{DASHBOARD_UID_PREFIX}{plan.spec.namespace}-{plan.names.app}"[:40],
        "title": f"Gemma: {plan.names.app} in {plan.spec.namespace}",
        "tags": ["gemma-gitops"], "timezone": "utc", "schemaVersion": 39, "version": 1, "editable": False,
        "refresh": "30s", "time": {"from": "now-6h", "to": "now"},
        "templating": {"list": [{"name": "datasource", "type": "datasource", "query": "prometheus",
                                 "label": "Data source"}]},
        "panels": built,
    }


def dashboard_json(plan: Plan) -> str:
    """The dashboard as the ConfigMap carries it: sorted keys, two-space indents, a final newline."""
    return json.dumps(dashboard(plan), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def queries(plan: Plan) -> list[str]:
    """Every PromQL expression this module writes: the alerts', then the dashboard's."""
    return [alert.expr for alert in alerts(plan)] + [expr for panel in panels(plan) for _, expr in panel.targets]
