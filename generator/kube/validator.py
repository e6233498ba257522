"""Validate one resource against its schema for every requested Kubernetes version.

Every error is recorded (check-jsonschema's habit), not only the first; an `anyOf`/`oneOf`
failure shows its best-matching alternative and how many alternatives failed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from generator import jsonschemas
from generator.kube import cel
from generator.kube.registry import CompiledSchema, LookupFailed, SchemaNotFound, SchemaRegistry
from generator.kube.report import Result, Status
from generator.manifest import Identity, Manifest
from generator.problems import Problem

if TYPE_CHECKING:
    import jsonschema

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
    source: str = ""  # what said so, when not the schema of the Kind: `cel`
    rule: str = ""  # the CEL rule that failed
    limitation: str = ""  # a rule this tool cannot evaluate (not the resource's fault)


def validate_resource(
    resource: Manifest,
    registry: SchemaRegistry,
    versions: tuple[str, ...],
    ignore_kinds: frozenset[str],
    skip: frozenset[str] = frozenset(),
) -> Result:
    """The schema verdict on one resource across Kubernetes versions."""
    sig = resource.identity
    if is_ignored(sig, ignore_kinds):
        return Result(resource.where, sig, Status.SKIPPED, note=f"{sig.kind} is listed in ignore-kinds")
    seen: dict[_Finding, list[str]] = {}
    for version in versions:
        for finding in _check_version(resource, registry, version, skip):
            seen.setdefault(finding, []).append(version)
    limitations = tuple(sorted({f.limitation for f in seen if f.limitation}))
    ordered = sorted((f for f in seen if not f.limitation), key=lambda f: (f.checked, f.path, f.message))
    problems = tuple(_problem(resource.where, sig, f, seen[f], len(versions)) for f in ordered)
    if any(f.checked for f in ordered):
        return Result(resource.where, sig, Status.INVALID, problems, limitations=limitations)
    return Result(resource.where, sig, Status.ERROR if ordered else Status.VALID, problems, limitations=limitations)


def _problem(label: str, identity: Identity, finding: _Finding, versions: list[str], requested: int) -> Problem:
    """The problem for a finding, naming the Kubernetes versions of a schema error, or of a partial miss."""
    named = finding.versioned and (finding.checked or len(versions) < requested)
    suffix = f" [Kubernetes {', '.join(versions)}]" if named else ""
    return Problem(label, finding.path, finding.message + suffix + finding.detail,
                   rule=finding.source or identity.kind, detail=finding.rule)


def _check_version(resource: Manifest, registry: SchemaRegistry, version: str, skip: frozenset[str]) -> list[_Finding]:
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
    except jsonschemas.SchemaUnusable as err:
        return [_Finding(False, "$", f"schema at {compiled.source} cannot be applied offline: {err}", False)]
    found = [_Finding(True, path, message, compiled.versioned) for path, message in errors]
    return found if "cel" in skip else found + cel_rule_findings(compiled, resource, errors)


# The API server does not run CEL rules over an object with a wrong type in it
# (k8s.io/apiextensions-apiserver/pkg/registry/customresource/strategy.go `hasBlockingErr`).
NOT_CHECKED = ("Invalid value: null: some validation rules were not checked because the object was invalid;"
               " correct the existing errors to complete validation")


def cel_rule_findings(compiled: CompiledSchema, resource: Manifest, errors: list[tuple[str, str]]) -> list[_Finding]:
    """The CEL rules of the resource's schema that it breaks, and the rules this tool cannot evaluate."""
    schema = compiled.validator.schema
    if not isinstance(schema, dict) or cel.rule_count(schema) == 0:
        return []
    limits = [_Finding(False, "$", "", False, limitation=_limitation(compiled.source, lim))
              for lim in cel.cel_limitations(schema)]
    if any(" is not of type " in message for _, message in errors):
        return [*limits, _Finding(True, "$", NOT_CHECKED, False, source="cel")]
    found = cel.cel_findings(schema, resource.doc)
    return [*limits, *(_Finding(True, f.json_path, f.message, compiled.versioned, source="cel", rule=f.rule) for f in found)]


def _limitation(source: str, limitation: cel.CelLimitation) -> str:
    """One line about a rule we cannot evaluate: where it is declared, the rule, and why."""
    return f"{source}#{limitation.schema_path}: CEL rule {limitation.rule!r} not evaluated: {limitation.reason}"


def _tried(tried: tuple[str, ...]) -> str:
    """` (tried ...); add its schema ...`: where we looked and what to do about it."""
    return f" (tried {', '.join(tried)}); {IGNORE_HINT}"


def schema_errors(validator: jsonschemas.Validator, instance: Any) -> list[tuple[str, str]]:
    """Every schema error as (JSON path, message), deepest alternative for anyOf/oneOf."""
    return sorted(describe(error) for error in validator.iter_errors(instance))


def describe(error: jsonschema.ValidationError) -> tuple[str, str]:
    """(JSON path, message) for one error; for anyOf/oneOf the best alternative and a count."""
    if not error.context:
        return error.json_path, error.message
    from jsonschema.exceptions import best_match  # loaded with jsonschema, which explains failures only

    best = best_match(error.context)
    alternatives = len({e.relative_schema_path[0] for e in error.context})
    return best.json_path, f"{best.message} (best match of {alternatives} alternatives)"
