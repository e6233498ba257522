"""Object metadata of every built-in kind: name, namespace, labels, annotations.

Follows k8s.io/apimachinery/pkg/api/validation/objectmeta.go `ValidateObjectMeta` with the name
function each kind's validation passes to it (pkg/apis/*/validation): `NameIsDNS1035Label` for
Services (`ValidateServiceName`), `ValidateNamespaceName` (a DNS-1123 label) for Namespaces, and
`NameIsDNSSubdomain` for the others; `ValidateAnnotations` and `ValidateAnnotationsSize`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from generator.kube.native.base import Check, Context, Problem, as_dict, labels
from generator.kube.native.field import (
    dns1035_label,
    dns1123_label,
    dns1123_subdomain,
    invalid,
    qualified_name,
    required,
    too_long,
)

TOTAL_ANNOTATION_SIZE = 256 * 1024  # objectmeta.go TotalAnnotationSizeLimitB
NAME_FUNCTIONS = {"Service": dns1035_label, "Namespace": dns1123_label}
CLUSTER_SCOPED = frozenset({"Namespace", "ClusterRole", "ClusterRoleBinding", "PersistentVolume", "StorageClass",
                            "CustomResourceDefinition", "PriorityClass", "IngressClass"})


def check_name(body: Mapping[str, Any], context: Context) -> Iterator[Problem]:
    """metadata.name: required, and valid for the kind; metadata.namespace: a DNS-1123 label."""
    meta = as_dict(body.get("metadata"))
    name = meta.get("name")
    if not name and not meta.get("generateName"):
        yield ("metadata", "name"), required("name or generateName is required")
    elif isinstance(name, str):
        for message in NAME_FUNCTIONS.get(str(body.get("kind")), dns1123_subdomain)(name):
            yield ("metadata", "name"), invalid(name, message)
    namespace = meta.get("namespace")
    if isinstance(namespace, str) and namespace:
        if body.get("kind") in CLUSTER_SCOPED:
            yield ("metadata", "namespace"), "Forbidden: not allowed on this type"
        for message in dns1123_label(namespace):
            yield ("metadata", "namespace"), invalid(namespace, message)


def check_labels(body: Mapping[str, Any], context: Context) -> Iterator[Problem]:
    """metadata.labels: qualified-name keys and label values."""
    yield from labels(as_dict(body.get("metadata")).get("labels"), ("metadata", "labels"))


def annotation_problems(values: Any, path: tuple[str | int, ...]) -> Iterator[Problem]:
    """`ValidateAnnotations`: qualified-name keys (checked lowercased) and at most 256 KiB in all."""
    total = 0
    for key, value in as_dict(values).items():
        for message in qualified_name(str(key).lower()):
            yield path, invalid(key, message)
        total += len(str(key).encode()) + len(str(value).encode())
    if total > TOTAL_ANNOTATION_SIZE:
        yield path, too_long(TOTAL_ANNOTATION_SIZE)


def check_annotations(body: Mapping[str, Any], context: Context) -> Iterator[Problem]:
    """metadata.annotations."""
    yield from annotation_problems(as_dict(body.get("metadata")).get("annotations"), ("metadata", "annotations"))


CHECKS = (
    Check("metadata-name", frozenset(), check_name, "apimachinery/pkg/api/validation.ValidateObjectMeta"),
    Check("labels", frozenset(), check_labels, "apimachinery/pkg/apis/meta/v1/validation.ValidateLabels"),
    Check("annotations", frozenset(), check_annotations, "apimachinery/pkg/api/validation.ValidateAnnotations"),
)
