"""workload-selector: a workload's selector selects its own pod template.

The API server rejects a Deployment, StatefulSet, DaemonSet or ReplicaSet whose
`spec.selector` does not match `spec.template.metadata.labels` ("selector does not match
template labels"), but only at apply time; this finds it at render time.

Pass::

    spec:
      selector: {matchLabels: {app: gemma}}
      template: {metadata: {labels: {app: gemma}}}

Fail (`$.spec.selector: selector does not match the pod template's labels app=gema`)::

    spec:
      selector: {matchLabels: {app: gemma}}
      template: {metadata: {labels: {app: gema}}}
"""

from __future__ import annotations

from collections.abc import Iterator

from generator.kube.rules.base import (
    Scope,
    as_dict,
    dig,
    finding,
    jpath,
    labels_text,
    selector_matches,
)
from generator.kube.rules.pods import pod_templates
from generator.problems import Problem

ID = "workload-selector"
KINDS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet")


def check(scope: Scope) -> Iterator[Problem]:
    """Report every workload whose selector leaves out its own pods."""
    for pod in pod_templates(scope.resources, KINDS):
        selector = as_dict(dig(pod.resource.doc, "spec", "selector"))
        if not selector_matches(selector, pod.labels):
            message = f"selector does not match the pod template's labels {labels_text(pod.labels)}"
            yield finding(pod.resource, jpath("spec", "selector"), message)
