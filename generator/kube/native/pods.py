"""Pod templates of workloads: containers, ports, env, probes, resources, volumes, restart policy.

Follows k8s.io/kubernetes pkg/apis/core/validation/validation.go `ValidatePodTemplateSpec` →
`ValidatePodSpec`: `validateContainers` (names, image), `validateContainerPorts`, `ValidateEnv`
(`IsEnvVarName`; `IsRelaxedEnvVarName` from 1.32, where RelaxedEnvironmentVariableValidation is
on by default), `validateProbe`/`validateHandler` (exactly one handler), `ValidateResourceRequirements`
(requests ≤ limits, equal for extended resources), `ValidateVolumes` (one source, unique names),
`ValidateVolumeMounts` (unique mountPath); and apps/validation `ValidatePodTemplateSpecForReplicaSet`
(restartPolicy Always for controllers that keep pods running).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from generator.kube.native.base import Check, Context, Problem, as_dict, as_list, is_int, nonnegative, quantity
from generator.kube.native.field import (
    Path_,
    dns1123_label,
    duplicate,
    env_var_name,
    forbidden,
    invalid,
    not_supported,
    port_name,
    port_number,
    required,
)
from generator.manifest import POD_TEMPLATE_PATHS

TEMPLATE_PATHS: Mapping[str, Path_] = POD_TEMPLATE_PATHS  # bare Pods included: the API server checks them alike
ALWAYS_RESTART = frozenset({"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"})
WORKLOADS = frozenset(TEMPLATE_PATHS)
HANDLERS = ("exec", "httpGet", "tcpSocket", "grpc")
PROTOCOLS = ("SCTP", "TCP", "UDP")
# pkg/apis/core/helper `IsOvercommitAllowed`: native resources (no domain, or kubernetes.io) except hugepages.
OVERCOMMIT_DOMAINS = ("", "kubernetes.io")


def pod_spec(body: Mapping[str, Any]) -> tuple[Path_, Mapping[str, Any]] | None:
    """(path to the pod spec, the spec) of a workload's pod template."""
    path = TEMPLATE_PATHS.get(str(body.get("kind")))
    if path is None:
        return None
    template: Any = body
    for key in path:
        template = as_dict(template).get(str(key))
    return (*path, "spec"), as_dict(as_dict(template).get("spec"))


def containers(spec: Mapping[str, Any], path: Path_) -> Iterator[tuple[Path_, Mapping[str, Any]]]:
    """Init containers, then containers, with their paths."""
    for field in ("initContainers", "containers"):
        for index, container in enumerate(as_list(spec.get(field))):
            yield (*path, field, index), as_dict(container)


def check_containers(body: Mapping[str, Any], context: Context) -> Iterator[Problem]:
    """Container names: a DNS-1123 label each, unique across init containers and containers; an image."""
    found = pod_spec(body)
    if found is None:
        return
    seen: set[str] = set()
    for path, container in containers(*reversed(found)):
        name = container.get("name")
        if isinstance(name, str):
            for message in dns1123_label(name):
                yield (*path, "name"), invalid(name, message)
            if name in seen:
                yield (*path, "name"), duplicate(name)
            seen.add(name)
        if not container.get("image"):
            yield (*path, "image"), required()


def check_ports(body: Mapping[str, Any], context: Context) -> Iterator[Problem]:
    """validateContainerPorts: names (IANA_SVC_NAME, unique per container), port numbers, protocols."""
    found = pod_spec(body)
    for path, container in containers(*reversed(found)) if found else ():
        names: set[str] = set()
        for index, port in enumerate(map(as_dict, as_list(container.get("ports")))):
            where = (*path, "ports", index)
            name = port.get("name")
            if isinstance(name, str) and name:
                messages = port_name(name)
                yield from (((*where, "name"), invalid(name, m)) for m in messages)
                if not messages and name in names:
                    yield (*where, "name"), duplicate(name)
                names.add(name)
            for field in ("containerPort", "hostPort"):
                number = port.get(field)
                if is_int(number) and (field == "containerPort" or number != 0):
                    yield from (((*where, field), invalid(number, m)) for m in port_number(number))
            protocol = port.get("protocol", "TCP")
            if isinstance(protocol, str) and protocol not in PROTOCOLS:
                yield (*where, "protocol"), not_supported(protocol, PROTOCOLS)


def check_env(body: Mapping[str, Any], context: Context) -> Iterator[Problem]:
    """ValidateEnv: every variable has a valid name, and value or one valueFrom source, not both."""
    found = pod_spec(body)
    for path, container in containers(*reversed(found)) if found else ():
        for index, variable in enumerate(map(as_dict, as_list(container.get("env")))):
            where = (*path, "env", index)
            name = variable.get("name")
            if not name:
                yield (*where, "name"), required()
            elif isinstance(name, str):
                yield from (((*where, "name"), invalid(name, m)) for m in env_var_name(name, context.minor >= 32))
            source = as_dict(variable.get("valueFrom"))
            if len(source) > 1:
                yield (*where, "valueFrom"), invalid("", "may not have more than one field specified at a time")
            if source and variable.get("value"):
                yield (*where, "valueFrom"), invalid("", "may not be specified when `value` is not empty")


def check_probes(body: Mapping[str, Any], context: Context) -> Iterator[Problem]:
    """validateProbe/validateHandler: exactly one handler; liveness and startup successThreshold 1."""
    found = pod_spec(body)
    for path, container in containers(*reversed(found)) if found else ():
        for probe_name in ("livenessProbe", "readinessProbe", "startupProbe"):
            probe = container.get(probe_name)
            if not isinstance(probe, dict):
                continue
            where = (*path, probe_name)
            handlers = [h for h in HANDLERS if h in probe]
            if not handlers:
                yield where, required("must specify a handler type")
            for extra in handlers[1:]:
                yield (*where, extra), forbidden("may not specify more than 1 handler type")
            for field in ("initialDelaySeconds", "timeoutSeconds", "periodSeconds", "successThreshold", "failureThreshold"):
                yield from nonnegative(probe.get(field), (*where, field))
            threshold = probe.get("successThreshold")
            if probe_name != "readinessProbe" and is_int(threshold) and threshold != 1:
                yield (*where, "successThreshold"), invalid(threshold, "must be 1")


def check_resources(body: Mapping[str, Any], context: Context) -> Iterator[Problem]:
    """ValidateResourceRequirements: non-negative; requests ≤ limits, equal for extended resources."""
    found = pod_spec(body)
    for path, container in containers(*reversed(found)) if found else ():
        resources = as_dict(container.get("resources"))
        limits, requests = as_dict(resources.get("limits")), as_dict(resources.get("requests"))
        for field, values in (("limits", limits), ("requests", requests)):
            for name, value in values.items():
                amount = quantity(value)
                if amount is not None and amount < 0:
                    yield (*path, "resources", field, name), invalid(value, "must be greater than or equal to 0")
        for name, value in requests.items():
            yield from _request_against_limit(str(name), value, limits, (*path, "resources"))


def _request_against_limit(name: str, value: Any, limits: Mapping[str, Any], path: Path_) -> Iterator[Problem]:
    """One request compared with its limit (ValidateResourceRequirements' second loop)."""
    overcommit = name.rpartition("/")[0] in OVERCOMMIT_DOMAINS and not name.startswith("hugepages-")
    if name not in limits:
        if not overcommit:
            yield (*path, "limits"), required("Limit must be set for non overcommitable resources")
        return
    request, limit = quantity(value), quantity(limits[name])
    if request is None or limit is None:
        return
    if request != limit and not overcommit:
        yield (*path, "requests", name), invalid(str(value), f"must be equal to {name} limit of {limits[name]}")
    elif request > limit:
        yield (*path, "requests", name), invalid(str(value), f"must be less than or equal to {name} limit of {limits[name]}")


def check_volumes(body: Mapping[str, Any], context: Context) -> Iterator[Problem]:
    """ValidateVolumes: DNS-1123 label names, unique, exactly one volume source; unique mount paths per container."""
    found = pod_spec(body)
    if found is None:
        return
    path, spec = found
    seen: set[str] = set()
    for index, volume in enumerate(map(as_dict, as_list(spec.get("volumes")))):
        where = (*path, "volumes", index)
        name = volume.get("name")
        if isinstance(name, str):
            yield from (((*where, "name"), invalid(name, m)) for m in dns1123_label(name))
            if name in seen:
                yield (*where, "name"), duplicate(name)
            seen.add(name)
        sources = [key for key in volume if key != "name"]
        if not sources:
            yield where, required("must specify a volume type")
        for extra in sources[1:]:
            yield (*where, extra), forbidden("may not specify more than 1 volume type")
    for cpath, container in containers(spec, path):
        mounts: set[str] = set()
        for index, mount in enumerate(map(as_dict, as_list(container.get("volumeMounts")))):
            mount_path = mount.get("mountPath")
            if isinstance(mount_path, str) and mount_path in mounts:
                yield (*cpath, "volumeMounts", index, "mountPath"), invalid(mount_path, "must be unique")
            mounts.add(str(mount_path))


def check_restart_policy(body: Mapping[str, Any], context: Context) -> Iterator[Problem]:
    """ValidatePodTemplateSpecForReplicaSet / ForStatefulSet: controllers keep pods running (Always)."""
    found = pod_spec(body)
    if found is None or body.get("kind") not in ALWAYS_RESTART:
        return
    policy = found[1].get("restartPolicy", "Always")
    if policy != "Always":
        yield (*found[0], "restartPolicy"), not_supported(policy, ("Always",))


SOURCE = "kubernetes/pkg/apis/core/validation."
CHECKS = (
    Check("container-name", WORKLOADS, check_containers, SOURCE + "validateContainers"),
    Check("container-port", WORKLOADS, check_ports, SOURCE + "validateContainerPorts"),
    Check("env-var", WORKLOADS, check_env, SOURCE + "ValidateEnv"),
    Check("probe", WORKLOADS, check_probes, SOURCE + "validateProbe"),
    Check("resources", WORKLOADS, check_resources, SOURCE + "ValidateResourceRequirements"),
    Check("volume", WORKLOADS, check_volumes, SOURCE + "ValidateVolumes"),
    Check("restart-policy", WORKLOADS, check_restart_policy,
          "kubernetes/pkg/apis/apps/validation.ValidatePodTemplateSpecForReplicaSet"),
)
