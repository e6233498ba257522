"""Manifests from the team's own files (values/<env>/extra/), checked against their schemas before `render` writes them.

The schemas `validate` uses (the bundled Kubernetes ones for each of the environment's
`kubernetesVersions`, then the schema locations: the vendored CRDs, ServiceMonitor included),
but each error names the source file and its line, and the render stops (exit 1) before anything
is written, so nothing invalid reaches rendered/. A kind no location has a schema for fails the
same way, unless the project's `ignore-kinds` lists it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace

from generator.errors import CheckFailed
from generator.extras import Extra
from generator.kube.check import build_locations, shared_registry
from generator.kube.config import ValidateOptions
from generator.kube.registry import download
from generator.kube.validator import validate_resource
from generator.problems import KeyPath, Problem

_STEP = re.compile(r"\.([^.\[\]]+)|\[(\d+)\]")


def key_path_of(json_path: str) -> KeyPath:
    """`$.spec.ports[0].port` → ('spec', 'ports', 0, 'port'); a key with a dot in it ends the path early."""
    return tuple(int(index) if index else key for key, index in _STEP.findall(json_path.removeprefix("$")))


def problems(extras: Iterable[tuple[Extra, tuple[str, ...]]], options: ValidateOptions) -> list[Problem]:
    """Every schema problem of the extras, each with the Kubernetes versions it was checked for, at its source line."""
    registry = shared_registry(build_locations(options), options.cache_dir, download)
    found: list[Problem] = []
    for extra, versions in extras:
        result = validate_resource(extra.manifest, registry, versions, options.ignore_kinds)
        found += [replace(p, line=extra.line(key_path_of(p.path))) for p in result.problems]
    return found


def check(extras: Iterable[tuple[Extra, tuple[str, ...]]], options: ValidateOptions) -> None:
    """Raise a failed check (exit 1) when any extra manifest does not match its schema."""
    found = problems(extras, options)
    if found:
        files = sorted({p.file.split("#")[0] for p in found})
        raise CheckFailed(f"{', '.join(files)}: {len(found)} schema problem{'s' if len(found) > 1 else ''} in extra "
                          "manifests", tuple(found))
