"""PersistentVolumeClaims: access modes, storage request, volume mode.

Follows k8s.io/kubernetes pkg/apis/core/validation/validation.go `ValidatePersistentVolumeClaimSpec`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from generator.kube.native.base import Check, Context, Problem, as_dict, as_list, quantity
from generator.kube.native.field import Path_, invalid, not_supported, required

ACCESS_MODES = ("ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod")
VOLUME_MODES = ("Block", "Filesystem")


def claim_spec(spec: Mapping[str, Any], path: Path_) -> Iterator[Problem]:
    """A claim's spec: at least one supported access mode, a positive storage request."""
    modes = as_list(spec.get("accessModes"))
    if not modes:
        yield (*path, "accessModes"), required("at least 1 access mode is required")
    for mode in modes:
        if mode not in ACCESS_MODES:
            yield (*path, "accessModes"), not_supported(mode, ACCESS_MODES)
    if "ReadWriteOncePod" in modes and len(modes) > 1:
        yield (*path, "accessModes"), "Forbidden: may not use ReadWriteOncePod with other access modes"
    storage_path = (*path, "resources", "requests", "storage")
    requests = as_dict(as_dict(spec.get("resources")).get("requests"))
    if "storage" not in requests:
        yield storage_path, required()
    else:
        amount = quantity(requests["storage"])
        if amount is not None and amount <= 0:
            yield storage_path, invalid(str(requests["storage"]), "must be greater than zero")
    mode = spec.get("volumeMode")
    if mode is not None and mode not in VOLUME_MODES:
        yield (*path, "volumeMode"), not_supported(mode, VOLUME_MODES)


def check_claim(body: Mapping[str, Any], context: Context) -> Iterator[Problem]:
    """A PersistentVolumeClaim's spec."""
    yield from claim_spec(as_dict(body.get("spec")), ("spec",))


CHECKS = (
    Check("pvc", frozenset({"PersistentVolumeClaim"}), check_claim,
          "kubernetes/pkg/apis/core/validation.ValidatePersistentVolumeClaimSpec"),
)
