"""ConfigMaps and Secrets: key names, total size, the keys a Secret type requires.

Follows k8s.io/kubernetes pkg/apis/core/validation/validation.go `ValidateConfigMap` and
`ValidateSecret` (`IsConfigMapKey`, `ValidateSecretSize`/1 MiB `MaxSecretSize`, the keys of the
`kubernetes.io/tls`, `kubernetes.io/dockerconfigjson` and `kubernetes.io/basic-auth`... types).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator, Mapping
from typing import Any

from generator.kube.native.base import Check, Context, Problem, as_dict
from generator.kube.native.field import config_key, invalid, required, too_long

MAX_SIZE = 1024 * 1024  # core.MaxSecretSize; ValidateConfigMap uses the same limit
REQUIRED_KEYS = {
    "kubernetes.io/tls": ("tls.crt", "tls.key"),
    "kubernetes.io/dockerconfigjson": (".dockerconfigjson",),
    "kubernetes.io/dockercfg": (".dockercfg",),
    "kubernetes.io/ssh-auth": ("ssh-privatekey",),
}


def _keys(body: Mapping[str, Any], fields: tuple[str, ...]) -> Iterator[Problem]:
    """Every key of the data maps: valid, and not in two maps at once."""
    seen: set[str] = set()
    for field in fields:
        for key in as_dict(body.get(field)):
            for message in config_key(str(key)):
                yield (field,), invalid(key, message)
            if key in seen:
                yield (field,), invalid(key, "duplicate of key present in data")
            seen.add(str(key))


def _size(body: Mapping[str, Any], field: str, encoded: tuple[str, ...]) -> int:
    """Bytes of a data map's values (base64 fields decoded)."""
    total = 0
    for value in as_dict(body.get(field)).values():
        text = str(value)
        if field in encoded:
            try:
                total += len(base64.b64decode(text, validate=True))
            except (binascii.Error, ValueError):
                total += len(text.encode())
        else:
            total += len(text.encode())
    return total


def check_configmap(body: Mapping[str, Any], context: Context) -> Iterator[Problem]:
    """ValidateConfigMap: key names, data and binaryData at most 1 MiB together."""
    yield from _keys(body, ("data", "binaryData"))
    if _size(body, "data", ()) + _size(body, "binaryData", ("binaryData",)) > MAX_SIZE:
        yield (), too_long(MAX_SIZE)


def check_secret(body: Mapping[str, Any], context: Context) -> Iterator[Problem]:
    """ValidateSecret: key names, at most 1 MiB, the keys its type requires."""
    yield from _keys(body, ("data", "stringData"))
    if _size(body, "data", ("data",)) + _size(body, "stringData", ()) > MAX_SIZE:
        yield ("data",), too_long(MAX_SIZE)
    present = set(as_dict(body.get("data"))) | set(as_dict(body.get("stringData")))
    for key in REQUIRED_KEYS.get(str(body.get("type", "Opaque")), ()):
        if key not in present:
            yield ("data", key), required()


CHECKS = (
    Check("configmap", frozenset({"ConfigMap"}), check_configmap, "kubernetes/pkg/apis/core/validation.ValidateConfigMap"),
    Check("secret", frozenset({"Secret"}), check_secret, "kubernetes/pkg/apis/core/validation.ValidateSecret"),
)
