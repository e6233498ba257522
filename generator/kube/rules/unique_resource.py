"""unique-resource: no two resources share API group, kind, namespace and name.

Two documents that identify the same object fight: the later one silently replaces the
earlier when applied, and Argo CD reports the app as out of sync forever. The API version
is left out of the identity (`apps/v1` and `apps/v1beta2` Deployments are one object).

Pass::

    kind: ConfigMap, metadata: {name: gemma-proxy, namespace: gemma}
    kind: Service,   metadata: {name: gemma-proxy, namespace: gemma}   # another kind

Fail (`$.metadata.name: ConfigMap 'gemma-proxy' in namespace 'gemma' is also defined in ...`)::

    kind: ConfigMap, metadata: {name: gemma-proxy, namespace: gemma}
    kind: ConfigMap, metadata: {name: gemma-proxy, namespace: gemma}
"""

from __future__ import annotations

from collections.abc import Iterator

from generator.kube.rules.base import Scope, finding, jpath, namespace_of
from generator.manifest import Manifest
from generator.problems import Problem

ID = "unique-resource"


def check(scope: Scope) -> Iterator[Problem]:
    """Report every resource whose identity an earlier resource in scope already has."""
    first: dict[tuple[str, str, str, str], Manifest] = {}
    for resource in scope.resources:
        sig = resource.identity
        key = (sig.group, sig.kind, sig.namespace, sig.name)
        if key in first:
            message = f"{sig.describe()} in namespace {namespace_of(resource)} is also defined in {first[key].label}"
            yield finding(resource, jpath("metadata", "name"), message)
        else:
            first[key] = resource
