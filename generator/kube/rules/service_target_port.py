"""service-target-port: each Service port's targetPort is a port of the pods it selects.

A targetPort names a container port (`http`) or gives its number (`8080`); when it is
absent it equals `port`. Every pod template the Service selects must declare that port,
or connections are refused (a named port that no container declares is never resolved).
Services that select no rendered pod are left to `service-selector`.

Pass::

    kind: Service                       kind: Deployment ... containers:
    spec:                                 - name: auth-proxy
      ports:                                ports:
        - port: 80                            - name: http
          targetPort: http                      containerPort: 8080

Fail (`$.spec.ports[0].targetPort: targetPort 'htp' is not a container port of ...`)::

    kind: Service
    spec:
      ports:
        - port: 80
          targetPort: htp
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from generator.kube.rules.base import Scope, as_dict, as_list, dig, finding, jpath
from generator.kube.rules.pods import (
    PodTemplate,
    container_ports,
    find_port,
    ports_text,
    selected_pods,
)
from generator.manifest import Manifest
from generator.problems import Problem

ID = "service-target-port"


def check(scope: Scope) -> Iterator[Problem]:
    """Report every Service port whose target a selected pod template does not declare."""
    for service in scope.of_kind("Service", ""):
        pods = selected_pods(service, scope.resources)
        for index, port in enumerate(service_ports(service)):
            for pod in pods:
                yield from _check_port(service, index, port, pod)


def service_ports(service: Manifest) -> list[Mapping[str, Any]]:
    """A Service's port entries."""
    return [as_dict(p) for p in as_list(dig(service.doc, "spec", "ports"))]


def target_of(port: Mapping[str, Any]) -> tuple[str, Any]:
    """(field, value): the targetPort, or the port itself when targetPort is absent."""
    field = "targetPort" if "targetPort" in port else "port"
    return field, port.get(field)


def _check_port(service: Manifest, index: int, port: Mapping[str, Any], pod: PodTemplate) -> Iterator[Problem]:
    """A finding when one pod template lacks the port's target."""
    field, target = target_of(port)
    ports = container_ports(pod)
    if find_port(ports, target) is None:
        owner = pod.resource.identity.describe()
        message = f"{field} {target!r} is not a container port of {owner} (ports: {ports_text(ports)})"
        yield finding(service, jpath("spec", "ports", index, field), message)
