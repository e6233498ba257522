"""resource-quantity: resource requests, limits and sizes are Kubernetes quantities.

The bundled schemas accept any string for a quantity; the API server accepts only the
grammar of k8s.io/apimachinery `resource.Quantity` (`4Gi`, `500m`, `1.5`, `2e3`), so `4GB`
or `4 Gi` passes every schema and fails at apply time. Checked: containers'
`resources.requests/limits`, the pod's `resources`, `emptyDir.sizeLimit`, and
PersistentVolumeClaims' and StatefulSet volumeClaimTemplates' `resources.requests/limits`.

Pass::

    resources:
      limits: {memory: 4Gi, cpu: "2"}

Fail (`$.spec.template.spec.containers[0].resources.limits.memory: '4GB' does not match ...`)::

    resources:
      limits: {memory: 4GB}
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from generator.capacity.quantity import QuantityError, parse_quantity
from generator.kube.rules.base import (
    Path_,
    Scope,
    as_dict,
    as_list,
    dig,
    finding,
    jpath,
)
from generator.kube.rules.pods import containers, pod_templates
from generator.manifest import Manifest
from generator.problems import Problem

ID = "resource-quantity"
HINT = "use a Kubernetes quantity such as 4Gi, 4G or 500m"


def is_quantity(value: str) -> bool:
    """Whether a string is in the quantity grammar (generator.capacity.quantity parses it)."""
    try:
        parse_quantity(value)
    except QuantityError:
        return False
    return True


def check(scope: Scope) -> Iterator[Problem]:
    """Report every quantity that the API server would not parse."""
    for resource in scope.resources:
        for path, value in quantities(resource):
            # Numbers are quantities; other types are the schema's to report.
            if isinstance(value, str) and not is_quantity(value):
                yield finding(resource, jpath(*path), f"{value!r} does not match the quantity format; {HINT}")


def quantities(resource: Manifest) -> Iterator[tuple[Path_, Any]]:
    """(path, value) of every quantity a resource declares."""
    if resource.identity.kind == "PersistentVolumeClaim":
        yield from _requirements(as_dict(dig(resource.doc, "spec", "resources")), ("spec", "resources"))
    for index, claim in enumerate(as_list(dig(resource.doc, "spec", "volumeClaimTemplates"))):
        path: Path_ = ("spec", "volumeClaimTemplates", index, "spec", "resources")
        yield from _requirements(as_dict(dig(claim, "spec", "resources")), path)
    for pod in pod_templates([resource]):
        yield from _requirements(as_dict(pod.spec.get("resources")), (*pod.spec_path, "resources"))
        for container in containers(pod):
            yield from _requirements(as_dict(container.body.get("resources")), (*container.path, "resources"))
        for index, volume in enumerate(map(as_dict, as_list(pod.spec.get("volumes")))):
            if "sizeLimit" in as_dict(volume.get("emptyDir")):
                yield (*pod.spec_path, "volumes", index, "emptyDir", "sizeLimit"), volume["emptyDir"]["sizeLimit"]


def _requirements(resources: Mapping[str, Any], path: Path_) -> Iterator[tuple[Path_, Any]]:
    """(path, value) of each request and limit in a resources block."""
    for field in ("requests", "limits"):
        for name, value in as_dict(resources.get(field)).items():
            yield (*path, field, name), value
