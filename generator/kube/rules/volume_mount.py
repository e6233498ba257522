"""volume-mount: every volumeMount names a volume of its pod.

A container's `volumeMounts[].name` must be one of the pod's `spec.volumes[].name` (or, for
a StatefulSet, one of its `volumeClaimTemplates`); the API server rejects the pod otherwise,
and for a Deployment that happens only when the ReplicaSet tries to create it.

Pass::

    containers:
      - name: llama-server
        volumeMounts: [{name: models, mountPath: /models}]
    volumes:
      - {name: models, persistentVolumeClaim: {claimName: gemma-models}}

Fail (`$.spec.template.spec.containers[0].volumeMounts[0].name: volume 'models' ...`)::

    containers:
      - name: llama-server
        volumeMounts: [{name: models, mountPath: /models}]
    volumes: []
"""

from __future__ import annotations

from collections.abc import Iterator

from generator.kube.rules.base import Scope, as_dict, as_list, dig, finding, jpath
from generator.kube.rules.pods import PodTemplate, containers, pod_templates
from generator.problems import Problem

ID = "volume-mount"


def check(scope: Scope) -> Iterator[Problem]:
    """Report every volumeMount whose volume the pod does not define."""
    for pod in pod_templates(scope.resources):
        defined = volume_names(pod)
        for container in containers(pod):
            for index, mount in enumerate(map(as_dict, as_list(container.body.get("volumeMounts")))):
                name = mount.get("name")
                if isinstance(name, str) and name not in defined:
                    message = (
                        f"volume {name!r} is mounted by container {container.name!r} but not defined"
                        f" (volumes: {', '.join(sorted(defined)) or 'none'})"
                    )
                    yield finding(pod.resource, jpath(*container.path, "volumeMounts", index, "name"), message)


def volume_names(pod: PodTemplate) -> set[str]:
    """The pod's volume names, with a StatefulSet's volumeClaimTemplates."""
    names = {as_dict(v).get("name") for v in as_list(pod.spec.get("volumes"))}
    if pod.resource.identity.kind == "StatefulSet":
        claims = as_list(dig(pod.resource.doc, "spec", "volumeClaimTemplates"))
        names |= {dig(c, "metadata", "name") for c in claims}
    return {n for n in names if isinstance(n, str)}
