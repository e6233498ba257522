"""Every PromQL expression of the alerts and the dashboard parses with a real PromQL parser (PyPI promql-parser,
a binding of the Rust crate the Greptime and other Prometheus-compatible servers use) and names only metrics the
end-to-end tests saw exposed by the real llama-server and proxy (tests/e2e/seen-metrics.txt)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import promql_parser
import pytest

from generator import monitoring
from generator.plan import Plan
from tests.conftest import REPO
from tests.plans import plan_for

SEEN = REPO / "tests/e2e/seen-metrics.txt"
PLANS = {
    "prod": lambda: plan_for("prod"),
    "staging": lambda: plan_for("staging"),
    "thresholds": lambda: plan_for("prod", namespace="llm", metrics__prometheusRule={
        "timeToFirstTokenSeconds": 2.5, "errorRatio": 0.01, "badKeysPerSecond": 0.2, "contextFullRatio": 0.75}),
}


def seen() -> set[str]:
    return set(SEEN.read_text(encoding="utf-8").split())


def metric_names(expr: str) -> set[str]:
    """The metric names an expression selects, from the parser's syntax tree."""
    names: set[str] = set()

    def visit(node: object) -> bool:
        if isinstance(node, promql_parser.VectorSelector):
            assert node.name, f"a selector without a metric name in {expr}"
            names.add(node.name)
        return True

    promql_parser.walk(promql_parser.parse(expr), visit)
    return names


@pytest.mark.parametrize("env", sorted(PLANS))
def test_every_query_parses_and_names_only_metrics_a_test_saw(env: str) -> None:
    plan = PLANS[env]()
    allowed = seen() | set(monitoring.EXTERNAL_METRICS)
    for expr in monitoring.queries(plan):
        names = metric_names(expr)
        assert names or re.fullmatch(r"vector\([0-9]+\)", expr), expr  # only a constant (a budget) names none
        assert names <= allowed, (expr, names - allowed)


def test_the_seen_list_is_sorted_unique_and_has_both_sources() -> None:
    lines = SEEN.read_text(encoding="utf-8").splitlines()
    assert lines == sorted(set(lines))
    assert any(n.startswith("gemma_proxy_") for n in lines) and any(n.startswith("llamacpp:") for n in lines)
    assert not set(monitoring.EXTERNAL_METRICS) & set(lines)


def test_the_parser_is_real() -> None:
    """The premise: it refuses what Prometheus refuses."""
    for bad in ("sum(rate(x[5m])", "rate(x)", "x{a=}", "histogram_quantile(0.9)"):
        with pytest.raises(ValueError):
            promql_parser.parse(bad)


def test_the_values_thresholds_reach_the_alerts() -> None:
    plan = PLANS["thresholds"]()
    by_name = {alert.name: alert.expr for alert in monitoring.alerts(plan)}
    assert by_name["GemmaSlowFirstToken"].endswith("> 2.5")
    assert by_name["GemmaErrorRatio"].endswith("> 0.01")
    assert by_name["GemmaBadKeySpike"].endswith("> 0.2")
    assert f"> {0.75 * plan.monitoring.slot_context:g} and" in by_name["GemmaContextNearFull"]
    assert all('namespace="llm"' in expr for expr in monitoring.queries(plan) if "{" in expr)


def test_the_key_file_alert_waits_for_a_whole_rotation(plan: Plan | None = None) -> None:
    """ESO's refresh, the kubelet's Secret sync and the proxy's reload: a key change takes that long at most."""
    plan = plan or plan_for("prod", apiKey__refreshInterval="15m", proxy__keyReloadSeconds=30)
    assert plan.monitoring.key_rotation_window_seconds == 15 * 60 + 120 + 30
    by_name = {alert.name: alert.expr for alert in monitoring.alerts(plan)}
    assert by_name["GemmaKeyFileStale"].endswith(f"> {15 * 60 + 150}")


def test_the_alerts_the_issue_lists_exist_with_for_severity_and_runbook() -> None:
    alerts = {alert.name: alert for alert in monitoring.alerts(plan_for("prod"))}
    assert {"GemmaLlamaServerNotReady", "GemmaProxyFailingClosed", "GemmaErrorRatio", "GemmaBadKeySpike",
            "GemmaSlowFirstToken", "GemmaContextNearFull", "GemmaRequestsDeferred", "GemmaKeyFileStale"} <= set(alerts)
    for alert in alerts.values():
        assert re.fullmatch(r"[0-9]+[smh]", alert.for_) and alert.severity in ("critical", "warning"), alert
        assert alert.summary and alert.runbook


def test_readme_explains_every_alert() -> None:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Monitoring\n", 1)[1].split("\n## ", 1)[0]
    for alert in monitoring.alerts(plan_for("prod")):
        assert f"`{alert.name}`" in section, alert.name


def test_the_dashboard_is_deterministic_and_has_the_panels_the_issue_lists() -> None:
    plan = plan_for("prod")
    text = monitoring.dashboard_json(plan)
    assert text == monitoring.dashboard_json(plan_for("prod"))
    model = json.loads(text)
    assert json.dumps(model, indent=2, sort_keys=True, ensure_ascii=False) + "\n" == text
    titles = [panel["title"] for panel in model["panels"]]
    for wanted in ("Tokens per second", "Time to first token", "Requests by status", "Refusals by reason",
                   "Context used (KV cache)", "Slots busy", "llama-server memory against the budget"):
        assert wanted in titles
    assert len({panel["id"] for panel in model["panels"]}) == len(titles)
    assert len({(p["gridPos"]["x"], p["gridPos"]["y"]) for p in model["panels"]}) == len(titles)


def test_the_seen_list_is_written_by_the_e2e_test() -> None:
    source = Path(REPO / "tests/e2e/test_metrics.py").read_text(encoding="utf-8")
    assert "seen-metrics.txt" in source and "GEMMA_GITOPS_UPDATE_SEEN_METRICS" in source
