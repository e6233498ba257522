"""probe-port: every probe's port is a port of the pod.

A liveness, readiness or startup probe (`httpGet`, `tcpSocket` or `grpc`) that names a port
(`http`) needs that name among the ports of its own container: the kubelet resolves names
there. A numeric port must be declared by some container of the pod (a probe may go through
a sidecar, as llama-server's probes go through the auth proxy's port). A probe on an
undeclared port fails, and the kubelet restarts or never readies the container.

Pass::

    containers:
      - name: auth-proxy
        ports: [{name: http, containerPort: 8080}]
        livenessProbe: {tcpSocket: {port: http}}
      - name: llama-server
        readinessProbe: {httpGet: {path: /health, port: 8080}}

Fail (`$.spec.template.spec.containers[1].readinessProbe.httpGet.port: ...`)::

      - name: llama-server
        readinessProbe: {httpGet: {path: /health, port: 8081}}
"""

from __future__ import annotations

from collections.abc import Iterator

from generator.kube.rules.base import Scope, as_dict, finding, jpath
from generator.kube.rules.pods import (
    Container,
    PodTemplate,
    container_ports,
    containers,
    find_port,
    pod_templates,
    ports_of,
    ports_text,
)
from generator.problems import Problem

ID = "probe-port"
PROBES = ("startupProbe", "readinessProbe", "livenessProbe")
HANDLERS = ("httpGet", "tcpSocket", "grpc")


def check(scope: Scope) -> Iterator[Problem]:
    """Report every probe port the pod does not declare."""
    for pod in pod_templates(scope.resources):
        for container in containers(pod):
            for probe in PROBES:
                for handler in HANDLERS:
                    port = as_dict(as_dict(container.body.get(probe)).get(handler)).get("port")
                    if port is not None:
                        yield from _check(pod, container, (probe, handler), port)


def _check(pod: PodTemplate, container: Container, where: tuple[str, str], port: object) -> Iterator[Problem]:
    """A finding when a named port is not the container's or a number is no container's."""
    own, every = ports_of(container), container_ports(pod)
    if isinstance(port, str) and find_port(own, port) is None:
        message = f"probe port {port!r} is not a named port of container {container.name!r} (ports: {ports_text(own)})"
        yield finding(pod.resource, jpath(*container.path, *where, "port"), message)
    elif isinstance(port, int) and find_port(every, port) is None:
        message = f"probe port {port} is not a containerPort of any container in the pod (ports: {ports_text(every)})"
        yield finding(pod.resource, jpath(*container.path, *where, "port"), message)
