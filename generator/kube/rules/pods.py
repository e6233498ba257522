"""Pod templates and their containers, wherever a workload keeps them."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from generator.kube.rules.base import (
    Path_,
    as_dict,
    as_list,
    dig,
    labels_match,
    same_namespace,
)
from generator.manifest import POD_TEMPLATE_PATHS, Manifest

TEMPLATE_PATHS = POD_TEMPLATE_PATHS
SERVING_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Pod")
CONTAINER_LISTS = ("initContainers", "containers")


@dataclass(frozen=True)
class PodTemplate:
    """A workload's pod template: its labels, its spec, and the path to that spec."""

    resource: Manifest
    spec_path: Path_
    labels: Mapping[str, Any]
    spec: Mapping[str, Any]


@dataclass(frozen=True)
class Container:
    """One container of a pod template, with the path to it."""

    path: Path_
    name: str
    body: Mapping[str, Any]


@dataclass(frozen=True)
class ContainerPort:
    """One declared container port."""

    container: str
    name: str | None
    number: int | None
    protocol: str

    def describe(self) -> str:
        """`http=8080/TCP`, or `8080/TCP` for an unnamed port."""
        return f"{self.name}={self.number}/{self.protocol}" if self.name else f"{self.number}/{self.protocol}"


def pod_template(resource: Manifest) -> PodTemplate | None:
    """The pod template of a workload, or None for other kinds."""
    path = TEMPLATE_PATHS.get(resource.identity.kind)
    if path is None or resource.identity.group not in ("", "apps", "batch"):
        return None
    template = dig(resource.doc, *path)
    labels = as_dict(dig(template, "metadata", "labels"))
    return PodTemplate(resource, (*path, "spec"), labels, as_dict(as_dict(template).get("spec")))


def pod_templates(resources: Iterable[Manifest], kinds: Iterable[str] = TEMPLATE_PATHS) -> Iterator[PodTemplate]:
    """The pod templates of every workload of the given kinds."""
    wanted = set(kinds)
    for resource in resources:
        if resource.identity.kind in wanted:
            template = pod_template(resource)
            if template is not None:
                yield template


def service_selector(service: Manifest) -> Mapping[str, Any]:
    """A Service's selector; empty for a Service without one (endpoints managed by hand)."""
    if dig(service.doc, "spec", "type") == "ExternalName":
        return {}
    return as_dict(dig(service.doc, "spec", "selector"))


def selected_pods(service: Manifest, resources: Iterable[Manifest]) -> list[PodTemplate]:
    """The serving workloads' pod templates a Service selects, in its namespace."""
    selector = service_selector(service)
    if not selector:
        return []
    return [
        pod
        for pod in pod_templates(resources, SERVING_KINDS)
        if same_namespace(service, pod.resource) and labels_match(selector, pod.labels)
    ]


def containers(pod: PodTemplate) -> Iterator[Container]:
    """Init containers then containers, each with its path."""
    for field in CONTAINER_LISTS:
        for index, body in enumerate(as_list(pod.spec.get(field))):
            body = as_dict(body)
            name = body.get("name")
            yield Container((*pod.spec_path, field, index), name if isinstance(name, str) else "", body)


def container_ports(pod: PodTemplate) -> list[ContainerPort]:
    """Every port declared by any container of the pod."""
    return [port for container in containers(pod) for port in ports_of(container)]


def ports_of(container: Container) -> list[ContainerPort]:
    """The ports one container declares."""
    found = []
    for port in map(as_dict, as_list(container.body.get("ports"))):
        number, name = port.get("containerPort"), port.get("name")
        found.append(
            ContainerPort(
                container.name,
                name if isinstance(name, str) else None,
                number if isinstance(number, int) else None,
                str(port.get("protocol") or "TCP"),
            )
        )
    return found


def find_port(ports: Iterable[ContainerPort], target: Any) -> ContainerPort | None:
    """The port a Service targetPort or probe port means: by name (a string) or number."""
    for port in ports:
        if (isinstance(target, str) and port.name == target) or (
            isinstance(target, int) and not isinstance(target, bool) and port.number == target
        ):
            return port
    return None


def ports_text(ports: Iterable[ContainerPort]) -> str:
    """`http=8080/TCP, 9090/TCP`, or `none` for messages."""
    return ", ".join(p.describe() for p in ports) or "none"
