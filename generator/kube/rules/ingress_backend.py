"""ingress-backend: an Ingress's Service backends name a rendered Service and one of its ports.

Each backend of a `networking.k8s.io` Ingress (`spec.defaultBackend` and every
`spec.rules[].http.paths[].backend`) that names a Service must name a Service rendered in the
Ingress's namespace, and its port (`port.number`, or `port.name`) must be one of that Service's
`spec.ports[]`. Otherwise the controller answers 503 for the path.

Pass::

    kind: Ingress                              kind: Service
    spec:                                      metadata: {name: gemma}
      rules:                                   spec:
        - http:                                  ports:
            paths:                                 - {name: http, port: 80, targetPort: http}
              - backend:
                  service: {name: gemma, port: {number: 80}}

Fail (`$.spec.rules[0].http.paths[0].backend.service.port: Service 'gemma' has no port 8080 (ports: 80)`)::

    backend:
      service: {name: gemma, port: {number: 8080}}
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from generator.kube.rules.base import Path_, Scope, as_dict, as_list, dig, finding, jpath
from generator.kube.rules.service_target_port import service_ports
from generator.manifest import Manifest
from generator.problems import Problem

ID = "ingress-backend"


def backends(ingress: Manifest) -> Iterator[tuple[Path_, Mapping[str, Any]]]:
    """(path, service backend) of the default backend and of every path of every rule."""
    default = as_dict(dig(ingress.doc, "spec", "defaultBackend", "service"))
    if default:
        yield ("spec", "defaultBackend", "service"), default
    for r, rule in enumerate(as_list(dig(ingress.doc, "spec", "rules"))):
        for p, entry in enumerate(as_list(dig(rule, "http", "paths"))):
            service = as_dict(dig(entry, "backend", "service"))
            if service:
                yield ("spec", "rules", r, "http", "paths", p, "backend", "service"), service


def check(scope: Scope) -> Iterator[Problem]:
    """Report every Service backend that names no rendered Service, or a port it lacks."""
    for ingress in scope.of_kind("Ingress", "networking.k8s.io"):
        for path, backend in backends(ingress):
            service = _find_service(scope, backend.get("name"), ingress.identity.namespace)
            if service is None:
                yield finding(ingress, jpath(*path, "name"), f"no Service {backend.get('name')!r} is rendered here")
                continue
            port = as_dict(backend.get("port"))
            ports = service_ports(service)
            if not any(p.get("port") == port.get("number") if "number" in port else p.get("name") == port.get("name")
                       for p in ports):
                listed = ", ".join(str(p.get("port")) for p in ports) or "none"
                wanted = port.get("number", port.get("name"))
                yield finding(ingress, jpath(*path, "port"), f"Service {backend.get('name')!r} has no port {wanted!r} "
                              f"(ports: {listed})")


def _find_service(scope: Scope, name: Any, namespace: str) -> Manifest | None:
    """The rendered Service of a name in the Ingress's namespace (one without a namespace matches)."""
    for service in scope.of_kind("Service", ""):
        if service.identity.name == name and (not namespace or service.identity.namespace in ("", namespace)):
            return service
    return None
