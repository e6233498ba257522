"""service-selector: a Service's selector matches the pod template of a rendered workload.

A Service whose selector matches no pod sends traffic nowhere, and nothing in Kubernetes
says so. The selector must match the pod template labels of a Deployment, StatefulSet,
DaemonSet, ReplicaSet or Pod in the same namespace. Services without a selector (endpoints
managed by hand) and ExternalName Services are not checked.

Pass::

    kind: Service                      kind: Deployment
    spec:                              spec:
      selector: {app: gemma}             template:
                                           metadata:
                                             labels: {app: gemma, tier: api}

Fail (`$.spec.selector: selector app=gema matches no pod template ...`)::

    kind: Service
    spec:
      selector: {app: gema}
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from generator.kube.rules.base import (
    Scope,
    finding,
    jpath,
    labels_text,
    namespace_of,
    same_namespace,
)
from generator.kube.rules.pods import (
    SERVING_KINDS,
    pod_templates,
    selected_pods,
    service_selector,
)
from generator.manifest import Manifest
from generator.problems import Problem

ID = "service-selector"


def check(scope: Scope) -> Iterator[Problem]:
    """Report every Service whose selector matches no rendered pod template."""
    for service in scope.of_kind("Service", ""):
        selector = service_selector(service)
        if selector and not selected_pods(service, scope.resources):
            yield finding(service, jpath("spec", "selector"), _message(scope, selector, service))


def _message(scope: Scope, selector: Mapping[str, Any], service: Manifest) -> str:
    """Name the selector and the pod labels that were there to match."""
    candidates = [
        f"{pod.resource.identity.describe()} has {labels_text(pod.labels)}"
        for pod in pod_templates(scope.resources, SERVING_KINDS)
        if same_namespace(service, pod.resource)
    ]
    seen = "; ".join(candidates) or "no workload is rendered there"
    return (
        f"selector {labels_text(selector)} matches no pod template of a rendered workload"
        f" in namespace {namespace_of(service)} ({seen})"
    )
