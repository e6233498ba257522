"""Services: ports, names, target ports, node ports, selector.

Follows k8s.io/kubernetes pkg/apis/core/validation/validation.go `ValidateService` and
`validateServicePort`: at least one port unless headless or ExternalName; every port named when
there are several (DNS-1123 labels, unique); port numbers in range; unique port+protocol;
targetPort a port number or an IANA_SVC_NAME; nodePort only for NodePort and LoadBalancer.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from generator.kube.native.base import Check, Context, Problem, as_dict, as_list, is_int, labels
from generator.kube.native.field import (
    dns1123_label,
    duplicate,
    forbidden,
    invalid,
    not_supported,
    port_name,
    port_number,
    required,
)
from generator.kube.native.pods import PROTOCOLS

TYPES = ("ClusterIP", "ExternalName", "LoadBalancer", "NodePort")


def check_service(body: Mapping[str, Any], context: Context) -> Iterator[Problem]:
    """The spec of a Service."""
    spec = as_dict(body.get("spec"))
    kind = spec.get("type", "ClusterIP")
    if kind not in TYPES:
        yield ("spec", "type"), not_supported(kind, TYPES)
    ports = [as_dict(p) for p in as_list(spec.get("ports"))]
    if not ports and kind != "ExternalName" and spec.get("clusterIP") != "None":
        yield ("spec", "ports"), required()
    if kind == "ExternalName" and not spec.get("externalName"):
        yield ("spec", "externalName"), required()
    names: set[str] = set()
    pairs: set[tuple[Any, Any]] = set()
    for index, port in enumerate(ports):
        yield from _port(port, index, len(ports) > 1, kind, names, pairs)
    yield from labels(spec.get("selector"), ("spec", "selector"))


def _port(port: Mapping[str, Any], index: int, several: bool, kind: str, names: set[str],
          pairs: set[tuple[Any, Any]]) -> Iterator[Problem]:
    """validateServicePort, and the uniqueness ValidateService checks across ports."""
    where = ("spec", "ports", index)
    name = port.get("name")
    if several and not name:
        yield (*where, "name"), required()
    elif isinstance(name, str) and name:
        yield from (((*where, "name"), invalid(name, m)) for m in dns1123_label(name))
        if name in names:
            yield (*where, "name"), duplicate(name)
        names.add(name)
    number = port.get("port")
    if is_int(number):
        yield from (((*where, "port"), invalid(number, m)) for m in port_number(number))
    protocol = port.get("protocol", "TCP")
    if protocol not in PROTOCOLS:
        yield (*where, "protocol"), not_supported(protocol, PROTOCOLS)
    if (number, protocol) in pairs:
        yield where, duplicate(f"{number}/{protocol}")
    pairs.add((number, protocol))
    target = port.get("targetPort")
    if is_int(target) and target != 0:
        yield from (((*where, "targetPort"), invalid(target, m)) for m in port_number(target))
    elif isinstance(target, str):
        yield from (((*where, "targetPort"), invalid(target, m)) for m in port_name(target))
    node_port = port.get("nodePort")
    if is_int(node_port) and node_port != 0:
        if kind not in ("NodePort", "LoadBalancer"):
            yield (*where, "nodePort"), forbidden("may not be used when `type` is '" + str(kind) + "'")
        yield from (((*where, "nodePort"), invalid(node_port, m)) for m in port_number(node_port))


CHECKS = (
    Check("service", frozenset({"Service"}), check_service, "kubernetes/pkg/apis/core/validation.ValidateService"),
)
