"""Deployments and StatefulSets: selector, counts, strategies, claim templates.

Follows k8s.io/kubernetes pkg/apis/apps/validation/validation.go: `ValidateDeploymentSpec`
(selector required and non-empty, matching the template's labels via
`ValidatePodTemplateSpecForReplicaSet`; `ValidateDeploymentStrategy`,
`ValidateRollingUpdateDeployment`; progressDeadlineSeconds > minReadySeconds, with its default of
600) and `ValidateStatefulSetSpec` (podManagementPolicy, updateStrategy, selector, template
labels); volumeClaimTemplates get the PersistentVolumeClaim checks, which the API server applies
when the controller creates the claims.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from generator.kube.native.base import (
    Check,
    Context,
    Problem,
    as_dict,
    as_list,
    int_or_percent,
    int_or_percent_value,
    is_int,
    label_selector,
    labels,
    nonnegative,
    selector_matches,
)
from generator.kube.native.field import forbidden, invalid, required
from generator.kube.native.storage import claim_spec

CONTROLLERS = frozenset({"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"})
PROGRESS_DEADLINE_DEFAULT = 600  # pkg/apis/apps/v1/defaults.go SetDefaults_Deployment


def check_selector(body: Mapping[str, Any], context: Context) -> Iterator[Problem]:
    """spec.selector: required, valid, not empty, and matching spec.template.metadata.labels."""
    spec = as_dict(body.get("spec"))
    kind = str(body.get("kind")).lower()
    template_labels = as_dict(as_dict(as_dict(spec.get("template")).get("metadata")).get("labels"))
    yield from labels(template_labels, ("spec", "template", "metadata", "labels"))
    if "selector" not in spec:
        yield ("spec", "selector"), required()
        return
    selector = as_dict(spec.get("selector"))
    yield from label_selector(selector, ("spec", "selector"))
    if not selector.get("matchLabels") and not selector.get("matchExpressions"):
        yield ("spec", "selector"), invalid(selector, f"empty selector is invalid for {kind}")
    elif not selector_matches(selector, template_labels):
        yield ("spec", "template", "metadata", "labels"), invalid(template_labels, "`selector` does not match template `labels`")


def check_counts(body: Mapping[str, Any], context: Context) -> Iterator[Problem]:
    """replicas, minReadySeconds, revisionHistoryLimit ≥ 0; progressDeadlineSeconds > minReadySeconds."""
    spec = as_dict(body.get("spec"))
    for field in ("replicas", "minReadySeconds", "revisionHistoryLimit", "progressDeadlineSeconds"):
        yield from nonnegative(spec.get(field), ("spec", field))
    if body.get("kind") == "Deployment":
        deadline, ready = spec.get("progressDeadlineSeconds", PROGRESS_DEADLINE_DEFAULT), spec.get("minReadySeconds", 0)
        if is_int(deadline) and is_int(ready) and deadline <= ready:
            yield ("spec", "progressDeadlineSeconds"), invalid(deadline, "must be greater than minReadySeconds")


def check_deployment_strategy(body: Mapping[str, Any], context: Context) -> Iterator[Problem]:
    """ValidateDeploymentStrategy and ValidateRollingUpdateDeployment."""
    strategy = as_dict(as_dict(body.get("spec")).get("strategy"))
    path = ("spec", "strategy")
    rolling = strategy.get("rollingUpdate")
    if strategy.get("type") == "Recreate" and rolling is not None:
        yield (*path, "rollingUpdate"), forbidden("may not be specified when strategy `type` is 'Recreate'")
        return
    if strategy.get("type", "RollingUpdate") != "RollingUpdate":
        return
    rolling = as_dict(rolling)
    surge, unavailable = rolling.get("maxSurge", "25%"), rolling.get("maxUnavailable", "25%")
    yield from int_or_percent(unavailable, (*path, "rollingUpdate", "maxUnavailable"), at_most_100=True)
    yield from int_or_percent(surge, (*path, "rollingUpdate", "maxSurge"))
    if int_or_percent_value(unavailable) == 0 and int_or_percent_value(surge) == 0:
        yield (*path, "rollingUpdate", "maxUnavailable"), invalid(unavailable, "may not be 0 when `maxSurge` is 0")


def check_statefulset(body: Mapping[str, Any], context: Context) -> Iterator[Problem]:
    """ValidateStatefulSetSpec: podManagementPolicy, updateStrategy; the claim templates as claims."""
    spec = as_dict(body.get("spec"))
    policy = spec.get("podManagementPolicy", "OrderedReady")
    if policy not in ("OrderedReady", "Parallel"):
        yield ("spec", "podManagementPolicy"), invalid(policy, "must be 'OrderedReady' or 'Parallel'")
    strategy = as_dict(spec.get("updateStrategy"))
    kind = strategy.get("type", "RollingUpdate")
    if kind == "OnDelete" and strategy.get("rollingUpdate") is not None:
        yield ("spec", "updateStrategy", "rollingUpdate"), invalid(
            strategy["rollingUpdate"], "only allowed for updateStrategy 'RollingUpdate'")
    elif kind == "RollingUpdate":
        yield from nonnegative(as_dict(strategy.get("rollingUpdate")).get("partition"),
                               ("spec", "updateStrategy", "rollingUpdate", "partition"))
    elif kind not in ("RollingUpdate", "OnDelete"):
        yield ("spec", "updateStrategy"), invalid(strategy, "must be 'RollingUpdate' or 'OnDelete'")
    for index, claim in enumerate(map(as_dict, as_list(spec.get("volumeClaimTemplates")))):
        yield from claim_spec(as_dict(claim.get("spec")), ("spec", "volumeClaimTemplates", index, "spec"))


SOURCE = "kubernetes/pkg/apis/apps/validation."
CHECKS = (
    Check("selector", CONTROLLERS, check_selector, SOURCE + "ValidateDeploymentSpec / ValidateStatefulSetSpec"),
    Check("replicas", CONTROLLERS, check_counts, SOURCE + "ValidateDeploymentSpec"),
    Check("deployment-strategy", frozenset({"Deployment"}), check_deployment_strategy,
          SOURCE + "ValidateDeploymentStrategy"),
    Check("statefulset", frozenset({"StatefulSet"}), check_statefulset, SOURCE + "ValidateStatefulSetSpec"),
)
