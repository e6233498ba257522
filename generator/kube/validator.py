"""Validate one resource against its schema for every requested Kubernetes version.

Every error is recorded (check-jsonschema's habit), not only the first; an `anyOf`/`oneOf`
failure shows its best-matching alternative and how many alternatives failed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import jsonschema
import referencing.exceptions
from jsonschema.exceptions import best_match
from jsonschema.protocols import Validator

from generator.kube.registry import LookupFailed, SchemaNotFound, SchemaRegistry
from generator.kube.report import Result, Status
from generator.manifest import Identity, Manifest
from generator.problems import Problem

IGNORE_HINT = "add its schema to a schema location, or list the kind in ignore-kinds"


def is_ignored(signature: Identity, ignore_kinds: frozenset[str]) -> bool:
    """Whether ignore-kinds names the kind, or `apiVersion/Kind` as kubeconform's -skip allows."""
    return signature.kind in ignore_kinds or f"{signature.api_version}/{signature.kind}" in ignore_kinds


@dataclass(frozen=True)
class _Finding:
    """One version's verdict detail: a schema error, or why the resource went unchecked."""

    checked: bool
    path: str
    message: str
    versioned: bool  # whether to name the Kubernetes versions it happened for
    detail: str = ""  # said after the versions


def validate_resource(
    resource: Manifest, registry: SchemaRegistry, versions: tuple[str, ...], ignore_kinds: frozenset[str]
) -> Result:
    """The schema verdict on one resource across Kubernetes versions."""
    sig = resource.identity
    if is_ignored(sig, ignore_kinds):
        return Result(resource.where, sig, Status.SKIPPED, note=f"{sig.kind} is listed in ignore-kinds")
    seen: dict[_Finding, list[str]] = {}
    for version in versions:
        for finding in _check_version(resource, registry, version):
            seen.setdefault(finding, []).append(version)
    ordered = sorted(seen, key=lambda f: (f.checked, f.path, f.message))
    issues = tuple(_issue(resource.where, sig, f, seen[f], len(versions)) for f in ordered)
    if any(f.checked for f in seen):
        return Result(resource.where, sig, Status.INVALID, issues)
    return Result(resource.where, sig, Status.ERROR if seen else Status.VALID, issues)


def _issue(label: str, signature: Identity, finding: _Finding, versions: list[str], requested: int) -> Problem:
    """The issue for a finding, naming the Kubernetes versions of a schema error, or of a partial miss."""
    named = finding.versioned and (finding.checked or len(versions) < requested)
    suffix = f" [Kubernetes {', '.join(versions)}]" if named else ""
    return Problem(label, finding.path, finding.message + suffix + finding.detail, rule=signature.kind)


def _check_version(resource: Manifest, registry: SchemaRegistry, version: str) -> list[_Finding]:
    """The findings for one Kubernetes version; none when the resource is valid for it."""
    try:
        compiled = registry.lookup(resource.identity, version)
    except SchemaNotFound as err:
        sig = resource.identity
        return [_Finding(False, "$", f"no schema found for {sig.api_version} {sig.kind}", True, _tried(err.tried))]
    except LookupFailed as err:
        return [_Finding(False, "$", err.message, False)]
    try:
        errors = schema_errors(compiled.validator, resource.doc)
    except (referencing.exceptions.Unresolvable, re.error) as err:
        return [_Finding(False, "$", f"schema at {compiled.source} cannot be applied offline: {err}", False)]
    return [_Finding(True, path, message, compiled.versioned) for path, message in errors]


def _tried(tried: tuple[str, ...]) -> str:
    """` (tried ...); add its schema ...`: where we looked and what to do about it."""
    return f" (tried {', '.join(tried)}); {IGNORE_HINT}"


def schema_errors(validator: Validator, instance: Any) -> list[tuple[str, str]]:
    """Every schema error as (JSON path, message), deepest alternative for anyOf/oneOf."""
    return sorted(describe(error) for error in validator.iter_errors(instance))


def describe(error: jsonschema.ValidationError) -> tuple[str, str]:
    """(JSON path, message) for one error; for anyOf/oneOf the best alternative and a count."""
    if not error.context:
        return error.json_path, error.message
    best = best_match(error.context)
    alternatives = len({e.relative_schema_path[0] for e in error.context})
    return best.json_path, f"{best.message} (best match of {alternatives} alternatives)"
