"""Collisions: two sources that would own one object, found by `render` and `check` before anything is written.

- an extra manifest that is one of the objects we render (same API group, kind, namespace and
  name), or two extras that are one object, or that would be written to one file;
- two environments that deploy one object to one cluster: a `dev` copied from staging that kept
  `namespace: gemma-staging` would have two Applications take turns overwriting each other's
  Deployment, each pruning what the other adds;
- two Argo CD Applications (or ApplicationSets, or the Applications one generates) with one name
  in one Argo CD namespace: the second would replace the first.

Each is a failed check (exit 1) naming both values files and the object. A namespaced object
without a namespace lands in its Application's destination namespace, so it is compared there.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from .errors import CheckFailed
from .extras import Extra
from .manifest import Identity, Manifest
from .plan import Plan
from .problems import Problem

# Kinds that have no namespace: an object of one of these without a namespace is cluster-wide.
CLUSTER_SCOPED = frozenset({
    "APIService", "CSIDriver", "ClusterIssuer", "ClusterRole", "ClusterRoleBinding", "ClusterSecretStore",
    "CustomResourceDefinition", "GatewayClass", "IngressClass", "MutatingWebhookConfiguration", "Namespace",
    "PersistentVolume", "PriorityClass", "RuntimeClass", "StorageClass", "ValidatingWebhookConfiguration",
    "VolumeSnapshotClass",
})
IN_CLUSTER = ("in-cluster", "https://kubernetes.default.svc")  # Argo CD's name and URL for its own cluster
RULE = "ownership"


@dataclass(frozen=True)
class EnvironmentRender:
    """One environment's render: its plan, the manifests we render (its Application last) and its extras."""

    plan: Plan
    ours: tuple[Manifest, ...]
    extras: tuple[Extra, ...] = ()

    @property
    def resources(self) -> tuple[Manifest, ...]:
        """What rendered/<env>/ holds: ours (without the Application), then the extras."""
        return (*(m for m in self.ours if m.path.startswith("rendered/")), *(e.manifest for e in self.extras))


def placed(identity: Identity, namespace: str) -> Identity:
    """The identity as applied: a namespaced object without a namespace takes the destination's."""
    if identity.namespace or identity.kind in CLUSTER_SCOPED:
        return identity
    return Identity(identity.kind, namespace, identity.name, identity.group, identity.version)


def clusters(plan: Plan) -> tuple[str, ...]:
    """The clusters an environment deploys to, as comparable names: `https://...`, `cluster 'eu'`, or a selector."""
    argocd = plan.spec.argocd
    appset = argocd.application_set
    if appset.enabled and appset.generator == "list":
        return tuple(cluster_name("", c.server) for c in appset.clusters)
    if appset.enabled:
        labels = ",".join(f"{k}={v}" for k, v in sorted(appset.selector.items()))
        return (f"every cluster labelled {labels}",)
    return (cluster_name(argocd.destination.name, argocd.destination.server),)


def cluster_name(name: str, server: str) -> str:
    """One spelling per cluster: Argo CD's own cluster by URL, a cluster given by name as `cluster 'name'`."""
    if name == IN_CLUSTER[0]:
        return IN_CLUSTER[1]
    return f"cluster {name!r}" if name else server


def application_names(render: EnvironmentRender) -> Iterator[tuple[Identity, str]]:
    """(identity in the Argo CD cluster, what it is) of the Application or ApplicationSet and what it generates."""
    plan = render.plan
    for m in render.ours:
        if m.path.startswith("argocd/"):
            yield m.identity, f"{m.identity.kind} {m.identity.name!r}"
    appset = plan.spec.argocd.application_set
    if appset.enabled and appset.generator == "list":
        for cluster in appset.clusters:
            name = f"{plan.names.app}-{plan.env}-{cluster.name}"
            yield Identity("Application", plan.spec.argocd.namespace, name, "argoproj.io"), f"Application {name!r} (generated)"


# -- within one environment --------------------------------------------------------------------


def extra_problems(render: EnvironmentRender) -> Iterator[Problem]:
    """Extras that are one of our objects, the same object twice, or two objects in one file."""
    namespace, file = render.plan.spec.namespace, render.plan.file
    owners: dict[Identity, str] = {placed(m.identity, namespace): f"{file} ({m.path})" for m in render.ours}
    paths: dict[str, str] = {m.path: file for m in render.ours}
    for extra in render.extras:
        identity, label = placed(extra.manifest.identity, namespace), extra.manifest.label
        line = extra.line(("metadata", "name"))
        if identity in owners:
            yield Problem(label, "$.metadata.name", f"{identity} is also rendered from {owners[identity]}; "
                          "change the values instead, or give this one another name", line=line, rule=RULE)
        elif extra.manifest.path in paths:
            yield Problem(label, "$.metadata.name", f"would be written to {extra.manifest.path}, as is an object "
                          f"from {paths[extra.manifest.path]}; give it another name", line=line, rule=RULE)
        owners.setdefault(identity, label)
        paths.setdefault(extra.manifest.path, label)


# -- across environments -------------------------------------------------------------------------


def _owned(render: EnvironmentRender) -> dict[tuple[str, Identity], Manifest]:
    """(cluster, identity as applied) → manifest, for everything an environment deploys."""
    namespace = render.plan.spec.namespace
    return {(cluster, placed(m.identity, namespace)): m for cluster in clusters(render.plan) for m in render.resources}


Found = tuple[Problem, str]  # a problem, and the other file it names


def environment_problems(renders: Iterable[EnvironmentRender], reported: frozenset[str]) -> Iterator[Found]:
    """Pairs of environments deploying one object to one cluster; one problem per pair and cluster."""
    first: dict[tuple[str, Identity], EnvironmentRender] = {}
    shared: dict[tuple[str, str, str], list[Identity]] = {}
    by_file: dict[str, EnvironmentRender] = {}
    for render in renders:
        by_file[render.plan.file] = render
        for key in _owned(render):
            owner = first.setdefault(key, render)
            if owner is not render:
                shared.setdefault((owner.plan.file, render.plan.file, key[0]), []).append(key[1])
    for (earlier, later, cluster), objects in shared.items():
        if later not in reported and earlier not in reported:
            continue
        here, there = (later, earlier) if later in reported else (earlier, later)
        more = f" and {len(objects) - 1} more" if len(objects) > 1 else ""
        yield by_file[here].plan.values.locate(("namespace",), f"deploys {objects[0]}{more} to {cluster}, which "
                                               f"{there} deploys there too: the two Applications would overwrite each "
                                               "other's objects. Give each environment its own namespace (or name), "
                                               "or another destination", rule=RULE), there


def application_problems(renders: Iterable[EnvironmentRender], reported: frozenset[str]) -> Iterator[Found]:
    """Two Argo CD Applications (or ApplicationSets) with one name in one namespace."""
    first: dict[Identity, tuple[EnvironmentRender, str]] = {}
    for render in renders:
        for identity, what in application_names(render):
            owner, owned = first.setdefault(identity, (render, what))
            if owner is render or (render.plan.file not in reported and owner.plan.file not in reported):
                continue
            (here, this), (there, that) = ((render, what), (owner, owned)) if render.plan.file in reported else (
                (owner, owned), (render, what))
            yield here.plan.values.locate(("name",), f"{this} in namespace {identity.namespace!r} is also {that} of "
                                          f"{there.plan.file}; rename the environment or change `name`",
                                          rule=RULE), there.plan.file


def check(renders: tuple[EnvironmentRender, ...], others: tuple[EnvironmentRender, ...] = ()) -> None:
    """Raise a failed check (exit 1) for every collision involving the rendered environments.

    `others` are environments not being rendered now, compared with them all the same.
    """
    reported = frozenset(r.plan.file for r in renders)
    every = (*renders, *others)
    found: list[Found] = [*((p, "") for r in renders for p in extra_problems(r)), *environment_problems(every, reported),
                          *application_problems(every, reported)]
    if found:
        files = sorted({p.file.split("#")[0] for p, _ in found} | {other for _, other in found if other})
        raise CheckFailed(f"{', '.join(files)}: {len(found)} collision{'s' if len(found) > 1 else ''}: one object, "
                          "two owners", tuple(p for p, _ in found))
