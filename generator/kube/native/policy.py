"""PodDisruptionBudgets and HorizontalPodAutoscalers.

Follows k8s.io/kubernetes pkg/apis/policy/validation/validation.go `ValidatePodDisruptionBudgetSpec`
(minAvailable and maxUnavailable not both set, each a non-negative int or a percent ≤ 100%; the
API server accepts a budget with neither) and pkg/apis/autoscaling/validation/validation.go
`validateHorizontalPodAutoscalerSpec` (minReplicas ≥ 1, maxReplicas ≥ 1 and ≥ minReplicas,
scaleTargetRef kind and name, `validateMetrics` target values).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from generator.kube.native.base import Check, Context, Problem, as_dict, as_list, int_or_percent, is_int, label_selector, quantity
from generator.kube.native.field import invalid, required

METRIC_SOURCES = {"Resource": "resource", "Pods": "pods", "Object": "object", "External": "external",
                  "ContainerResource": "containerResource"}


def check_pdb(body: Mapping[str, Any], context: Context) -> Iterator[Problem]:
    """ValidatePodDisruptionBudgetSpec."""
    spec = as_dict(body.get("spec"))
    if "minAvailable" in spec and "maxUnavailable" in spec:
        yield ("spec",), invalid(spec, "minAvailable and maxUnavailable cannot be both set")
    for field in ("minAvailable", "maxUnavailable"):
        if field in spec:
            yield from int_or_percent(spec[field], ("spec", field), at_most_100=True)
    if "selector" in spec:
        yield from label_selector(spec["selector"], ("spec", "selector"))


def check_hpa(body: Mapping[str, Any], context: Context) -> Iterator[Problem]:
    """validateHorizontalPodAutoscalerSpec."""
    spec = as_dict(body.get("spec"))
    low, high = spec.get("minReplicas", 1), spec.get("maxReplicas")
    if is_int(low) and low < 1:
        yield ("spec", "minReplicas"), invalid(low, "must be greater than or equal to 1")
    if is_int(high) and high < 1:
        yield ("spec", "maxReplicas"), invalid(high, "must be greater than 0")
    if is_int(low) and is_int(high) and high < low:
        yield ("spec", "maxReplicas"), invalid(high, "must be greater than or equal to `minReplicas`")
    target = as_dict(spec.get("scaleTargetRef"))
    for field in ("kind", "name"):
        if not target.get(field):
            yield ("spec", "scaleTargetRef", field), required()
    for index, metric in enumerate(map(as_dict, as_list(spec.get("metrics")))):
        yield from _metric(metric, ("spec", "metrics", index))


def _metric(metric: Mapping[str, Any], path: tuple[str | int, ...]) -> Iterator[Problem]:
    """validateMetricSpec: the source its type names, and a positive target."""
    kind = metric.get("type")
    source_key = METRIC_SOURCES.get(str(kind))
    if source_key is None:
        yield (*path, "type"), required("must specify a metric source type")
        return
    if source_key not in metric:
        yield (*path, source_key), required("must populate information for the given metric source")
        return
    target = as_dict(as_dict(metric[source_key]).get("target"))
    where = (*path, source_key, "target")
    utilization = target.get("averageUtilization")
    if is_int(utilization) and utilization < 1:
        yield (*where, "averageUtilization"), invalid(utilization, "must be greater than 0")
    for field in ("value", "averageValue"):
        amount = quantity(target.get(field)) if field in target else None
        if amount is not None and amount <= 0:
            yield (*where, field), invalid(str(target[field]), "must be positive")


CHECKS = (
    Check("pdb", frozenset({"PodDisruptionBudget"}), check_pdb,
          "kubernetes/pkg/apis/policy/validation.ValidatePodDisruptionBudgetSpec"),
    Check("hpa", frozenset({"HorizontalPodAutoscaler"}), check_hpa,
          "kubernetes/pkg/apis/autoscaling/validation.validateHorizontalPodAutoscalerSpec"),
)
