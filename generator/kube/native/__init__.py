"""The API server's own validation of built-in kinds, for what their OpenAPI schemas cannot express.

`native_findings(body)` gives what `kubectl apply --dry-run=server` would refuse, each with the
API server's wording and the ID of the check; one small module per kind or check family, each
check citing the Kubernetes validation function it follows (`CHECKS`, in report order).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from generator.kube.native import configdata, metadata, networking, pods, policy, quota, service, storage, workloads
from generator.kube.native.base import Check, Context
from generator.kube.native.field import NativeFinding, jpath

# The built-in kinds, by API group: a custom resource of the same kind name is not checked.
BUILT_IN = {
    "Deployment": "apps", "StatefulSet": "apps", "DaemonSet": "apps", "ReplicaSet": "apps",
    "Job": "batch", "CronJob": "batch", "Service": "", "PersistentVolumeClaim": "", "ConfigMap": "",
    "Secret": "", "Namespace": "", "ServiceAccount": "", "LimitRange": "", "ResourceQuota": "",
    "NetworkPolicy": "networking.k8s.io", "Ingress": "networking.k8s.io", "PodDisruptionBudget": "policy",
    "HorizontalPodAutoscaler": "autoscaling",
}
CHECKS: tuple[Check, ...] = (
    *metadata.CHECKS, *workloads.CHECKS, *pods.CHECKS, *service.CHECKS, *storage.CHECKS, *configdata.CHECKS,
    *networking.CHECKS, *policy.CHECKS, *quota.CHECKS,
)


def is_built_in(body: Mapping[str, Any]) -> bool:
    """Whether the object is one of the built-in kinds we check (group from apiVersion)."""
    kind, api_version = body.get("kind"), body.get("apiVersion")
    if not isinstance(kind, str) or not isinstance(api_version, str) or kind not in BUILT_IN:
        return False
    return api_version.rpartition("/")[0] == BUILT_IN[kind]


def native_findings(body: Mapping[str, Any], kubernetes_version: str = "1.31") -> list[NativeFinding]:
    """Everything the API server of that version would refuse in a built-in object; [] for other kinds."""
    if not is_built_in(body):
        return []
    context = Context(minor=int(kubernetes_version.split(".")[1]))
    kind = str(body["kind"])
    return [
        NativeFinding(jpath(path), message, check.id)
        for check in CHECKS
        if not check.kinds or kind in check.kinds
        for path, message in check.run(body, context)
    ]


__all__ = ["CHECKS", "NativeFinding", "native_findings"]
