"""config-ref: every ConfigMap and Secret a pod uses is rendered, or made by a rendered resource.

A pod that names a missing ConfigMap or Secret never starts (CreateContainerConfigError, or
a volume that never mounts). Checked references: `volumes[].configMap.name`,
`volumes[].secret.secretName`, `volumes[].projected.sources[].configMap/secret.name`,
`env[].valueFrom.configMapKeyRef/secretKeyRef.name` and `envFrom[].configMapRef/secretRef.name`
of every container; a reference marked `optional: true` is not checked.

A Secret counts as rendered when a Secret of that name is rendered in the pod's namespace,
or an ExternalSecret there targets it (`spec.target.name`, default `metadata.name`), or a
cert-manager Certificate stores its certificate in it (`spec.secretName`). An ExternalSecret
whose `spec.target.manifest.kind` is ConfigMap makes a ConfigMap instead.

Pass::

    volumes:                                   kind: ExternalSecret
      - name: api-key                          metadata: {name: gemma-api-key}
        secret: {secretName: gemma-api-key}    spec: {target: {name: gemma-api-key}}

Fail (`$.spec.template.spec.volumes[0].secret.secretName: Secret 'gemma-api-key' is ...`)::

    volumes:
      - name: api-key
        secret: {secretName: gemma-api-key}    # and no Secret or ExternalSecret makes it
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from generator.kube.rules.base import (
    Path_,
    Scope,
    as_dict,
    as_list,
    dig,
    finding,
    jpath,
    same_namespace,
)
from generator.kube.rules.pods import PodTemplate, containers, pod_templates
from generator.manifest import Manifest
from generator.problems import Problem

ID = "config-ref"


@dataclass(frozen=True)
class Reference:
    """A pod's use of a ConfigMap or Secret: what it names and where it says so."""

    kind: str  # ConfigMap or Secret
    name: Any
    path: Path_
    optional: bool


def check(scope: Scope) -> Iterator[Problem]:
    """Report every required ConfigMap or Secret reference that nothing in scope provides."""
    for pod in pod_templates(scope.resources):
        provided = provided_names(scope, pod.resource)
        for ref in references(pod):
            if not ref.optional and isinstance(ref.name, str) and ref.name not in provided[ref.kind]:
                yield finding(pod.resource, jpath(*ref.path), _message(ref, pod.resource))


def _message(ref: Reference, workload: Manifest) -> str:
    """What is missing and what would provide it."""
    where = f"namespace {workload.identity.namespace!r}" if workload.identity.namespace else "this environment"
    makers = "a ConfigMap" if ref.kind == "ConfigMap" else "a Secret, ExternalSecret target or Certificate secretName"
    return f"{ref.kind} {ref.name!r} is used but not rendered in {where} (expected {makers} of that name)"


def references(pod: PodTemplate) -> Iterator[Reference]:
    """Every ConfigMap and Secret reference of a pod template's volumes and containers."""
    for index, volume in enumerate(map(as_dict, as_list(pod.spec.get("volumes")))):
        yield from _volume_refs(volume, (*pod.spec_path, "volumes", index))
    for container in containers(pod):
        yield from _env_refs(container.body, container.path)


def _volume_refs(volume: Mapping[str, Any], path: Path_) -> Iterator[Reference]:
    """References of one volume: configMap, secret, and projected sources."""
    if "configMap" in volume:
        source = as_dict(volume["configMap"])
        yield Reference("ConfigMap", source.get("name"), (*path, "configMap", "name"), bool(source.get("optional")))
    if "secret" in volume:
        source = as_dict(volume["secret"])
        yield Reference(
            "Secret", source.get("secretName"), (*path, "secret", "secretName"), bool(source.get("optional"))
        )
    for index, projected in enumerate(map(as_dict, as_list(dig(volume, "projected", "sources")))):
        for field, kind in (("configMap", "ConfigMap"), ("secret", "Secret")):
            if field in projected:
                source = as_dict(projected[field])
                where = (*path, "projected", "sources", index, field, "name")
                yield Reference(kind, source.get("name"), where, bool(source.get("optional")))


ENV_SOURCES = (("configMapKeyRef", "ConfigMap"), ("secretKeyRef", "Secret"))
ENV_FROM_SOURCES = (("configMapRef", "ConfigMap"), ("secretRef", "Secret"))


def _env_refs(container: Mapping[str, Any], path: Path_) -> Iterator[Reference]:
    """References of one container's env valueFrom and envFrom."""
    for index, env in enumerate(map(as_dict, as_list(container.get("env")))):
        for field, kind in ENV_SOURCES:
            source = as_dict(dig(env, "valueFrom", field))
            if source:
                where = (*path, "env", index, "valueFrom", field, "name")
                yield Reference(kind, source.get("name"), where, bool(source.get("optional")))
    for index, env_from in enumerate(map(as_dict, as_list(container.get("envFrom")))):
        for field, kind in ENV_FROM_SOURCES:
            source = as_dict(env_from.get(field))
            if source:
                where = (*path, "envFrom", index, field, "name")
                yield Reference(kind, source.get("name"), where, bool(source.get("optional")))


def provided_names(scope: Scope, workload: Manifest) -> dict[str, set[Any]]:
    """The ConfigMap and Secret names that resources in the workload's namespace provide."""
    provided: dict[str, set[Any]] = {"ConfigMap": set(), "Secret": set()}
    for resource in scope.resources:
        if same_namespace(resource, workload):
            for kind, name in _provides(resource):
                if isinstance(name, str):
                    provided[kind].add(name)
    return provided


def _provides(resource: Manifest) -> Iterator[tuple[str, Any]]:
    """(kind, name) of the ConfigMap or Secret a resource is or makes."""
    sig = resource.identity
    if sig.group == "" and sig.kind in ("ConfigMap", "Secret"):
        yield sig.kind, sig.name
    elif sig.group == "external-secrets.io" and sig.kind == "ExternalSecret":
        target = as_dict(dig(resource.doc, "spec", "target"))
        made = "ConfigMap" if dig(target, "manifest", "kind") == "ConfigMap" else "Secret"
        yield made, target.get("name") or sig.name
    elif sig.group == "cert-manager.io" and sig.kind == "Certificate":
        yield "Secret", dig(resource.doc, "spec", "secretName")
