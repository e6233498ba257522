"""network-policy: the pods behind a Service are selected by a NetworkPolicy that admits the Service's target port.

For every Service and each pod template it selects: at least one NetworkPolicy in the same
namespace must select those pods for Ingress (`spec.podSelector`, with `policyTypes`
containing Ingress or defaulting to it), and one of those policies' `ingress` rules must
admit the container port the Service targets (the auth proxy's port): a rule without
`ports` admits every port; a port entry admits the port by number (with `endPort`, a range)
or by the container port's name, and by protocol (TCP unless given). Who may connect
(`from`) is not judged here.

Pass::

    kind: Service                        kind: NetworkPolicy
    spec:                                spec:
      selector: {app: gemma}               podSelector: {matchLabels: {app: gemma}}
      ports:                               policyTypes: [Ingress]
        - {port: 80, targetPort: http}     ingress:
    # http is containerPort 8080             - ports: [{protocol: TCP, port: 8080}]

Fail (`$.spec.ingress: admits no ingress to port 8080 ...`)::

    ingress:
      - ports: [{protocol: TCP, port: 8081}]
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from generator.kube.rules.base import (
    Scope,
    as_dict,
    as_list,
    dig,
    finding,
    jpath,
    same_namespace,
    selector_matches,
)
from generator.kube.rules.pods import (
    ContainerPort,
    PodTemplate,
    container_ports,
    find_port,
    selected_pods,
)
from generator.kube.rules.service_target_port import service_ports, target_of
from generator.manifest import Manifest
from generator.problems import Problem

ID = "network-policy"


def check(scope: Scope) -> Iterator[Problem]:
    """Report Service-backed pods that no policy selects, and target ports no policy admits."""
    for service in scope.of_kind("Service", ""):
        for pod in selected_pods(service, scope.resources):
            policies = ingress_policies(scope, pod)
            if not policies:
                owner = pod.resource.identity.describe()
                message = f"no NetworkPolicy selects the pods of {owner} for Ingress"
                yield finding(service, jpath("spec", "selector"), message)
                continue
            yield from _check_ports(service, pod, policies)


def ingress_policies(scope: Scope, pod: PodTemplate) -> list[Manifest]:
    """The NetworkPolicies in the pod's namespace that select it and govern its ingress."""
    return [
        policy
        for policy in scope.of_kind("NetworkPolicy", "networking.k8s.io")
        if same_namespace(policy, pod.resource)
        and selector_matches(as_dict(dig(policy.doc, "spec", "podSelector")), pod.labels)
        and "Ingress" in policy_types(policy)
    ]


def policy_types(policy: Manifest) -> list[Any]:
    """The policy's policyTypes, or the API's default: Ingress, plus Egress when egress rules exist."""
    spec = as_dict(policy.doc.get("spec"))
    if "policyTypes" in spec:
        return as_list(spec["policyTypes"])
    return ["Ingress", "Egress"] if "egress" in spec else ["Ingress"]


def _check_ports(service: Manifest, pod: PodTemplate, policies: list[Manifest]) -> Iterator[Problem]:
    """A finding for each Service target port that no selecting policy admits."""
    ports = container_ports(pod)
    for entry in service_ports(service):
        target = find_port(ports, target_of(entry)[1])
        if target is None:
            continue  # service-target-port reports it
        if not any(admits(policy, target) for policy in policies):
            yield _not_admitted(service, pod, policies[0], entry, target)


def _not_admitted(
    service: Manifest, pod: PodTemplate, policy: Manifest, entry: Mapping[str, Any], target: ContainerPort
) -> Problem:
    """The finding on the first selecting policy, naming the port it should admit."""
    spec = as_dict(policy.doc.get("spec"))
    where = jpath("spec", "ingress") if "ingress" in spec else jpath("spec")
    message = (
        f"admits no ingress to port {target.number} ({target.name or 'unnamed'}) of"
        f" {pod.resource.identity.describe()}, the target of {service.identity.describe()}"
        f" port {entry.get('port')!r}"
    )
    return finding(policy, where, message)


def admits(policy: Manifest, target: ContainerPort) -> bool:
    """Whether any ingress rule of a policy lets traffic reach a container port."""
    for rule in map(as_dict, as_list(dig(policy.doc, "spec", "ingress"))):
        if "ports" not in rule or any(_port_admits(as_dict(p), target) for p in as_list(rule["ports"])):
            return True
    return False


def _port_admits(entry: Mapping[str, Any], target: ContainerPort) -> bool:
    """One NetworkPolicyPort against a container port: protocol, then number, range or name."""
    if str(entry.get("protocol") or "TCP") != target.protocol:
        return False
    port = entry.get("port")
    if port is None:
        return True
    if isinstance(port, str):
        return port == target.name
    end = entry.get("endPort", port)
    if not (isinstance(port, int) and isinstance(end, int) and target.number is not None):
        return False  # malformed: the schema check reports it
    return port <= target.number <= end
