"""NetworkPolicies and Ingresses.

Follows k8s.io/kubernetes pkg/apis/networking/validation/validation.go:
`ValidateNetworkPolicySpec` (`ValidateNetworkPolicyPort`: protocol, port number or IANA_SVC_NAME,
endPort only with a numeric port and not below it; `ValidateIPBlock`: CIDRs; policyTypes) and
`ValidateIngressSpec` (`validateIngressRules`, `validateHTTPIngressRuleValue`: pathType required
and supported, paths of type Exact/Prefix absolute; `validateIngressBackend`: a service or a
resource, port name or number, not both).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Mapping
from typing import Any

from generator.kube.native.base import Check, Context, Problem, as_dict, as_list, is_int, label_selector
from generator.kube.native.field import (
    Path_,
    dns1035_label,
    dns1123_subdomain,
    invalid,
    not_supported,
    port_name,
    port_number,
    required,
)
from generator.kube.native.pods import PROTOCOLS

POLICY_TYPES = ("Egress", "Ingress")
PATH_TYPES = ("Exact", "ImplementationSpecific", "Prefix")


def _policy_port(port: Mapping[str, Any], path: Path_) -> Iterator[Problem]:
    """ValidateNetworkPolicyPort."""
    protocol = port.get("protocol", "TCP")
    if protocol not in PROTOCOLS:
        yield (*path, "protocol"), not_supported(protocol, PROTOCOLS)
    number, end = port.get("port"), port.get("endPort")
    if is_int(number):
        yield from (((*path, "port"), invalid(number, m)) for m in port_number(number))
    elif isinstance(number, str):
        yield from (((*path, "port"), invalid(number, m)) for m in port_name(number))
    if end is None:
        return
    if not is_int(number):
        yield (*path, "endPort"), required("must be specified when `port` is not a named port" if number is None
                                           else "may not be specified when `port` is non-numeric")
    elif is_int(end) and end < number:
        yield (*path, "endPort"), invalid(end, "must be greater than or equal to `port`")


def _cidr(value: Any, path: Path_) -> Iterator[Problem]:
    """A CIDR as ValidateIPBlock accepts it."""
    try:
        ipaddress.ip_network(str(value), strict=False)
        if "/" not in str(value):
            raise ValueError
    except ValueError:
        yield path, invalid(value, "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)")


def _peers(peers: Any, path: Path_) -> Iterator[Problem]:
    """ValidateNetworkPolicyPeer for each from/to entry."""
    for index, peer in enumerate(map(as_dict, as_list(peers))):
        where = (*path, index)
        for key in ("podSelector", "namespaceSelector"):
            if key in peer:
                yield from label_selector(peer[key], (*where, key))
        block = as_dict(peer.get("ipBlock"))
        if "ipBlock" in peer:
            yield from _cidr(block.get("cidr"), (*where, "ipBlock", "cidr"))
            for n, except_cidr in enumerate(as_list(block.get("except"))):
                yield from _cidr(except_cidr, (*where, "ipBlock", "except", n))


def check_network_policy(body: Mapping[str, Any], context: Context) -> Iterator[Problem]:
    """ValidateNetworkPolicySpec."""
    spec = as_dict(body.get("spec"))
    yield from label_selector(spec.get("podSelector"), ("spec", "podSelector"))
    for direction, peers in (("ingress", "from"), ("egress", "to")):
        for index, rule in enumerate(map(as_dict, as_list(spec.get(direction)))):
            for n, port in enumerate(map(as_dict, as_list(rule.get("ports")))):
                yield from _policy_port(port, ("spec", direction, index, "ports", n))
            yield from _peers(rule.get(peers), ("spec", direction, index, peers))
    types = as_list(spec.get("policyTypes"))
    for policy_type in types:
        if policy_type not in POLICY_TYPES:
            yield ("spec", "policyTypes"), not_supported(policy_type, POLICY_TYPES)
    if len(types) > 2:
        yield ("spec", "policyTypes"), invalid(types, "may not specify more than two policyTypes")


def _backend(backend: Mapping[str, Any], path: Path_) -> Iterator[Problem]:
    """validateIngressBackend."""
    service, resource = backend.get("service"), backend.get("resource")
    if service is not None and resource is not None:
        yield path, invalid(backend, "cannot set both resource and service backends")
    if service is None and resource is None:
        yield path, invalid(backend, "resource or service backend is required")
    if service is None:
        return
    service = as_dict(service)
    name = service.get("name")
    if isinstance(name, str):
        yield from (((*path, "service", "name"), invalid(name, m)) for m in dns1035_label(name))
    port = as_dict(service.get("port"))
    if port.get("name") and "number" in port:
        yield (*path, "service", "port"), invalid(port, "cannot set both port name & port number")
    elif isinstance(port.get("name"), str):
        yield from (((*path, "service", "port", "name"), invalid(port["name"], m)) for m in port_name(port["name"]))
    elif is_int(port.get("number")):
        yield from (((*path, "service", "port", "number"), invalid(port["number"], m))
                    for m in port_number(port["number"]))
    else:
        yield (*path, "service", "port"), invalid(port, "port name or number is required")


def _rules(spec: Mapping[str, Any]) -> Iterator[Problem]:
    """validateIngressRules and validateHTTPIngressRuleValue."""
    for index, rule in enumerate(map(as_dict, as_list(spec.get("rules")))):
        where: Path_ = ("spec", "rules", index)
        host = rule.get("host")
        if isinstance(host, str) and host:
            yield from _host(host, (*where, "host"))
        for n, entry in enumerate(map(as_dict, as_list(as_dict(rule.get("http")).get("paths")))):
            yield from _path(entry, (*where, "http", "paths", n))


def _host(host: str, path: Path_) -> Iterator[Problem]:
    """A rule's host: a DNS subdomain, optionally `*.` wildcarded, never an IP address."""
    try:
        ipaddress.ip_address(host)
        yield path, invalid(host, "must be a DNS name, not an IP address")
        return
    except ValueError:
        pass
    name = host[2:] if host.startswith("*.") else host
    for message in dns1123_subdomain(name):
        yield path, invalid(host, message)


def _path(entry: Mapping[str, Any], where: Path_) -> Iterator[Problem]:
    """One HTTP path: pathType required and supported, an absolute path for Exact and Prefix, a backend."""
    kind, text = entry.get("pathType"), entry.get("path", "")
    if kind is None:
        yield (*where, "pathType"), required("pathType must be specified")
    elif kind not in PATH_TYPES:
        yield (*where, "pathType"), not_supported(kind, PATH_TYPES)
    elif kind in ("Exact", "Prefix") and isinstance(text, str):
        if not text.startswith("/"):
            yield (*where, "path"), invalid(text, "must be an absolute path")
        for bad in ("//", "/./", "/../", "%2f", "%2F"):
            if bad in text:
                yield (*where, "path"), invalid(text, f"must not contain '{bad}'")
    yield from _backend(as_dict(entry.get("backend")), (*where, "backend"))


def check_ingress(body: Mapping[str, Any], context: Context) -> Iterator[Problem]:
    """ValidateIngressSpec."""
    spec = as_dict(body.get("spec"))
    if not spec.get("rules") and "defaultBackend" not in spec:
        yield ("spec",), invalid(spec, "either `defaultBackend` or `rules` must be specified")
    if "defaultBackend" in spec:
        yield from _backend(as_dict(spec["defaultBackend"]), ("spec", "defaultBackend"))
    yield from _rules(spec)
    class_name = spec.get("ingressClassName")
    if isinstance(class_name, str):
        yield from (((("spec", "ingressClassName")), invalid(class_name, m)) for m in dns1123_subdomain(class_name))
    for index, tls in enumerate(map(as_dict, as_list(spec.get("tls")))):
        for n, host in enumerate(as_list(tls.get("hosts"))):
            if isinstance(host, str):
                yield from _host(host, ("spec", "tls", index, "hosts", n))


SOURCE = "kubernetes/pkg/apis/networking/validation."
CHECKS = (
    Check("network-policy", frozenset({"NetworkPolicy"}), check_network_policy, SOURCE + "ValidateNetworkPolicySpec"),
    Check("ingress", frozenset({"Ingress"}), check_ingress, SOURCE + "ValidateIngressSpec"),
)
