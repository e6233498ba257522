"""route-backend: a Gateway API route's Service backendRefs name a rendered Service and one of its ports.

Each `spec.rules[].backendRefs[]` of an HTTPRoute or GRPCRoute that refers to a Service
(`kind: Service` or no kind, core group) must name a Service rendered in the route's
namespace (or the backendRef's `namespace`), and its `port` must be one of that Service's
`spec.ports[].port`. Otherwise the Gateway answers 500 for the route.

Pass::

    kind: HTTPRoute                       kind: Service
    spec:                                 metadata: {name: gemma}
      rules:                              spec:
        - backendRefs:                      ports:
            - {name: gemma, port: 80}         - {name: http, port: 80, targetPort: http}

Fail (`$.spec.rules[0].backendRefs[0].port: Service 'gemma' has no port 8080 (ports: 80)`)::

    backendRefs:
      - {name: gemma, port: 8080}
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from generator.kube.rules.base import Scope, as_dict, as_list, dig, finding, jpath
from generator.kube.rules.service_target_port import service_ports
from generator.manifest import Manifest
from generator.problems import Problem

ID = "route-backend"
ROUTE_KINDS = ("HTTPRoute", "GRPCRoute")
GATEWAY_GROUP = "gateway.networking.k8s.io"


def check(scope: Scope) -> Iterator[Problem]:
    """Report every Service backendRef that names no rendered Service or no port of it."""
    for route in (r for kind in ROUTE_KINDS for r in scope.of_kind(kind, GATEWAY_GROUP)):
        for rule_index, rule in enumerate(as_list(dig(route.doc, "spec", "rules"))):
            for ref_index, ref in enumerate(as_list(as_dict(rule).get("backendRefs"))):
                path = ("spec", "rules", rule_index, "backendRefs", ref_index)
                yield from _check_ref(scope, route, path, as_dict(ref))


def _is_service_ref(ref: Mapping[str, Any]) -> bool:
    """Whether a backendRef points at a core Service (the default kind and group)."""
    return ref.get("group", "") in ("", None) and ref.get("kind", "Service") == "Service"


def _check_ref(scope: Scope, route: Manifest, path: tuple[str | int, ...], ref: Mapping[str, Any]) -> Iterator[Problem]:
    """A finding for a backendRef to a missing Service or a port the Service lacks."""
    if not _is_service_ref(ref):
        return
    namespace = ref.get("namespace") or route.identity.namespace
    service = _find_service(scope, ref.get("name"), namespace)
    if service is None:
        where = f"namespace {namespace!r}" if namespace else "the destination namespace"
        yield finding(route, jpath(*path, "name"), f"no Service {ref.get('name')!r} is rendered in {where}")
        return
    numbers = [p.get("port") for p in service_ports(service)]
    # A Service backendRef without a port breaks the route's own CEL rule, which says so.
    if "port" in ref and ref.get("port") not in numbers:
        listed = ", ".join(str(n) for n in numbers) or "none"
        message = f"Service {ref.get('name')!r} has no port {ref.get('port')!r} (ports: {listed})"
        yield finding(route, jpath(*path, "port"), message)


def _find_service(scope: Scope, name: Any, namespace: str) -> Manifest | None:
    """The rendered Service of a name in a namespace (a Service without one matches any)."""
    for service in scope.of_kind("Service", ""):
        in_namespace = not namespace or service.identity.namespace in ("", namespace)
        if service.identity.name == name and in_namespace:
            return service
    return None
