"""LimitRanges and ResourceQuotas: resource names, quantities, and their order.

Follows k8s.io/kubernetes pkg/apis/core/validation/validation.go `ValidateLimitRange` (supported
types; min ≤ defaultRequest ≤ default ≤ max, maxLimitRequestRatio ≥ 1) and
`ValidateResourceQuotaSpec` (`ValidateResourceQuantityValue`: hard limits non-negative; scopes).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any

from generator.kube.native.base import Check, Context, Problem, as_dict, as_list, quantity
from generator.kube.native.field import Path_, invalid, not_supported, qualified_name

LIMIT_TYPES = ("Container", "PersistentVolumeClaim", "Pod")
QUOTA_SCOPES = ("BestEffort", "CrossNamespacePodAffinity", "NotBestEffort", "NotTerminating", "PriorityClass",
                "Terminating", "VolumeAttributesClass")


def _quantities(values: Any, path: Path_) -> Iterator[tuple[str, Decimal | None, Any, Path_]]:
    """(resource name, parsed value, value as written, path) of a resource list."""
    for name, value in as_dict(values).items():
        yield str(name), quantity(value), value, (*path, name)


def _resource_list(values: Any, path: Path_) -> Iterator[Problem]:
    """Resource names are qualified names; quantities are not negative."""
    for name, amount, value, where in _quantities(values, path):
        for message in qualified_name(name):
            yield where, invalid(name, message)
        if amount is not None and amount < 0:
            yield where, invalid(value, "must be greater than or equal to 0")


ORDER = (("min", "defaultRequest"), ("min", "default"), ("min", "max"), ("defaultRequest", "default"),
         ("defaultRequest", "max"), ("default", "max"))


def check_limit_range(body: Mapping[str, Any], context: Context) -> Iterator[Problem]:
    """ValidateLimitRange: each limit's type and the order of its quantities."""
    for index, limit in enumerate(map(as_dict, as_list(as_dict(body.get("spec")).get("limits")))):
        where: Path_ = ("spec", "limits", index)
        if limit.get("type") not in LIMIT_TYPES:
            yield (*where, "type"), not_supported(limit.get("type"), LIMIT_TYPES)
        parsed = {field: {n: (a, v) for n, a, v, _ in _quantities(limit.get(field), ())}
                  for field in ("min", "max", "default", "defaultRequest")}
        for field in ("min", "max", "default", "defaultRequest", "maxLimitRequestRatio"):
            yield from _resource_list(limit.get(field), (*where, field))
        for low, high in ORDER:
            for name, (amount, value) in parsed[low].items():
                other = parsed[high].get(name)
                if amount is not None and other and other[0] is not None and amount > other[0]:
                    yield (*where, high, name), invalid(
                        str(other[1]), f"{low} value {value} is greater than {high} value {other[1]}")
        ratios = _quantities(limit.get("maxLimitRequestRatio"), (*where, "maxLimitRequestRatio"))
        for _name, amount, value, path in ratios:
            if amount is not None and amount < 1:
                yield path, invalid(str(value), "ratio must be greater than or equal to 1")


def check_resource_quota(body: Mapping[str, Any], context: Context) -> Iterator[Problem]:
    """ValidateResourceQuotaSpec: hard limits and scopes."""
    spec = as_dict(body.get("spec"))
    yield from _resource_list(spec.get("hard"), ("spec", "hard"))
    for scope in as_list(spec.get("scopes")):
        if scope not in QUOTA_SCOPES:
            yield ("spec", "scopes"), not_supported(scope, QUOTA_SCOPES)


SOURCE = "kubernetes/pkg/apis/core/validation."
CHECKS = (
    Check("limit-range", frozenset({"LimitRange"}), check_limit_range, SOURCE + "ValidateLimitRange"),
    Check("resource-quota", frozenset({"ResourceQuota"}), check_resource_quota, SOURCE + "ValidateResourceQuotaSpec"),
)
