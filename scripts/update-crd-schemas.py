#!/usr/bin/env python3
"""Refresh the vendored CRD schemas (generator/schemas/crds) from the public CRDs catalog. Online only.

Downloads every kind in KINDS below and every kind already vendored, from one catalog commit when
GitHub says which commit `main` is (else from `main`, and PROVENANCE.md says so), with the catalog's
LICENSE. Each file must be a JSON object and a valid JSON Schema (draft 7, what `validate` compiles
it with); any problem with any file stops the run before anything is written. Then each file is
written atomically (temporary file beside it, fsync, rename) and PROVENANCE.md is rewritten: the
source, the catalog commit, the date, each file's sha256, and the upstream project versions in
UPSTREAM below. Groups whose files changed are marked there for a human to look up again: the
catalog does not say which upstream release a file comes from.

CI never runs this; the vendored copies are what `validate` and `check` read. Standard library only.

Usage: make update-crd-schemas   (or: python3 scripts/update-crd-schemas.py [--dest DIR])
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import re
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # generator/gopattern.py: standard library only, like this script
from generator.gopattern import python_pattern  # noqa: E402

DEST = ROOT / "generator" / "schemas" / "crds"
CATALOG = "datreeio/CRDs-catalog"
RAW_URL = "https://raw.githubusercontent.com/" + CATALOG + "/{ref}/{path}"
COMMIT_URL = "https://api.github.com/repos/" + CATALOG + "/commits/main"
TIMEOUT_SECONDS = 60
PROVENANCE = "PROVENANCE.md"
LICENSE = "LICENSE"

# Every custom resource kind we render or let users add (issue 11), as `{kind}_{version}` per group.
# Kinds already vendored are refreshed too, so a kind added by hand is never dropped.
KINDS: Mapping[str, tuple[str, ...]] = {
    "argoproj.io": ("application_v1alpha1", "applicationset_v1alpha1", "appproject_v1alpha1"),
    "cert-manager.io": ("certificate_v1", "clusterissuer_v1", "issuer_v1"),
    "external-secrets.io": ("clustersecretstore_v1", "externalsecret_v1", "secretstore_v1"),
    "gateway.envoyproxy.io": ("backendtrafficpolicy_v1alpha1", "clienttrafficpolicy_v1alpha1", "securitypolicy_v1alpha1"),
    "gateway.networking.k8s.io": ("gateway_v1", "grpcroute_v1", "httproute_v1", "referencegrant_v1"),
    "monitoring.coreos.com": ("podmonitor_v1", "prometheusrule_v1", "servicemonitor_v1"),
}


@dataclass(frozen=True)
class Upstream:
    """Which upstream release a group's catalog files come from, and how we know."""

    project: str
    version: str
    evidence: str


# The catalog records no upstream version in the files themselves: these were looked up by hand
# (the catalog's pull requests, and fields each release added or removed). After a refresh that
# changes a group's files, PROVENANCE.md marks that group until this table is updated.
UPSTREAM: Mapping[str, Upstream] = {
    "argoproj.io": Upstream(
        "Argo CD", "v3.5.0",
        "the latest argoproj.io update found in the catalog: datreeio/CRDs-catalog#936 (2026-08-06)"),
    "cert-manager.io": Upstream(
        "cert-manager", "v1.19 or later (patch not determined)",
        "has the rfc2136 `protocol` field added in v1.19.0 (cert-manager/cert-manager#7881) and the "
        "signatureAlgorithm description as fixed after v1.18.0 (#7789); the newest catalog update found "
        "is datreeio/CRDs-catalog#975 (v1.21.1, opened 2026-09-15)"),
    "external-secrets.io": Upstream(
        "External Secrets Operator", "v2.5.0 (v1); v1beta1 from an ESO 0.x release, not recorded",
        "v1: datreeio/CRDs-catalog#887 (2026-05-28); v1beta1 is no longer served since ESO 0.17, so the "
        "catalog's v1beta1 files predate it"),
    "gateway.envoyproxy.io": Upstream(
        "Envoy Gateway", "v1.8.x",
        "datreeio/CRDs-catalog#868 (v1.8.0, 2026-05-19); has v1.8's retryBudget, admissionControl and "
        "bandwidthLimit, none of v1.9's csrf, directSourceIP or clientSamplingFraction"),
    "gateway.networking.k8s.io": Upstream(
        "Gateway API", "v1.6.1, experimental channel",
        "datreeio/CRDs-catalog#948 (2026-08-16); ReferenceGrant v1 (v1.5+), HTTPRoute sessionPersistence "
        "(experimental channel) without idleTimeout (removed in v1.6)"),
    "monitoring.coreos.com": Upstream(
        "Prometheus Operator", "newer than v0.85.0 (release not determined)",
        "ServiceMonitor and PodMonitor have scrapeNativeHistograms (prometheus-operator/prometheus-operator"
        "#8102, Nov 2025), which the catalog's v0.85.0 update (datreeio/CRDs-catalog#653) predates"),
}

Fetch = Callable[[str], bytes]


@dataclass(frozen=True)
class FileEntry:
    """One vendored file as PROVENANCE.md records it."""

    path: str  # `{group}/{kind}_{version}.json`
    sha256: str
    retrieved: str  # ISO date
    commit: str | None  # the catalog commit it was downloaded from; None: branch main, commit unknown


class UpdateFailed(Exception):
    """Every problem of a run, reported at once; nothing was written."""


def wanted_files(dest: Path, kinds: Mapping[str, Sequence[str]] = KINDS) -> list[str]:
    """The catalog paths to download: every kind in `kinds` and every schema already in `dest`, sorted."""
    named = {f"{group}/{name}.json" for group, names in kinds.items() for name in names}
    vendored = {p.relative_to(dest).as_posix() for p in dest.glob("*/*.json")} if dest.is_dir() else set()
    return sorted(named | vendored)


# -- checking a downloaded schema ---------------------------------------------------------------

TYPES = frozenset({"array", "boolean", "integer", "null", "number", "object", "string"})
SCHEMA_MAPS = ("properties", "patternProperties", "definitions", "$defs")
SCHEMA_VALUES = ("additionalProperties", "additionalItems", "contains", "propertyNames", "not", "if", "then", "else")
SCHEMA_LISTS = ("allOf", "anyOf", "oneOf")
COUNTS = ("maxLength", "minLength", "maxItems", "minItems", "maxProperties", "minProperties")
NUMBERS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")
STRINGS = ("$ref", "$id", "$schema", "title", "description", "format", "$comment")


def schema_problems(schema: Any, where: str = "$") -> list[str]:
    """What makes `schema` an invalid JSON Schema (draft 7 keywords), each with its JSON path; [] if valid.

    The standard library has no JSON Schema meta-validator, so this checks the type of every draft-7
    keyword in every subschema (unknown keywords, such as x-kubernetes-*, are allowed, as the
    specification says). tests/test_update_crd_schemas.py holds it against jsonschema's own check.
    """
    if isinstance(schema, bool):
        return []
    if not isinstance(schema, dict):
        return [f"{where}: a schema must be an object or a boolean, not {type(schema).__name__}"]
    problems = _keyword_problems(schema, where)
    for name, subschema in _subschemas(schema, where, problems):
        problems += schema_problems(subschema, name)
    return problems


def _keyword_problems(schema: dict[str, Any], where: str) -> list[str]:
    """Problems with the non-schema keywords of one schema object."""
    problems = []
    kind = schema.get("type")
    kinds = kind if isinstance(kind, list) else [kind]
    if "type" in schema and (not kinds or not all(k in TYPES for k in kinds) or len(set(kinds)) != len(kinds)):
        problems.append(f"{where}.type: {kind!r} is not a JSON Schema type or a list of distinct ones")
    for key in COUNTS:
        if key in schema and not (_is_int(schema[key]) and schema[key] >= 0):
            problems.append(f"{where}.{key}: {schema[key]!r} is not a non-negative integer")
    for key in NUMBERS:
        if key in schema and not _is_number(schema[key]):
            problems.append(f"{where}.{key}: {schema[key]!r} is not a number")
    if "multipleOf" in schema and not (_is_number(schema["multipleOf"]) and schema["multipleOf"] > 0):
        problems.append(f"{where}.multipleOf: {schema['multipleOf']!r} is not a number above 0")
    for key in STRINGS:
        if key in schema and not isinstance(schema[key], str):
            problems.append(f"{where}.{key}: {schema[key]!r} is not a string")
    problems += _list_problems(schema, where)
    if isinstance(schema.get("pattern"), str):
        problems += _regex_problems(schema["pattern"], f"{where}.pattern")
    return problems


def _list_problems(schema: dict[str, Any], where: str) -> list[str]:
    """Problems with `required`, `enum` and `uniqueItems`."""
    problems = []
    required = schema.get("required", [])
    if not isinstance(required, list) or not all(isinstance(r, str) for r in required) or len(set(required)) != len(required):
        problems.append(f"{where}.required: {required!r} is not a list of distinct strings")
    if "enum" in schema and not isinstance(schema["enum"], list):
        problems.append(f"{where}.enum: {schema['enum']!r} is not a list")
    if "uniqueItems" in schema and not isinstance(schema["uniqueItems"], bool):
        problems.append(f"{where}.uniqueItems: {schema['uniqueItems']!r} is not a boolean")
    return problems


def _subschemas(schema: dict[str, Any], where: str, problems: list[str]) -> Iterable[tuple[str, Any]]:
    """(path, subschema) of every keyword whose value holds schemas; a malformed holder goes to `problems`."""
    for key in SCHEMA_MAPS:
        if key in schema:
            if not isinstance(schema[key], dict):
                problems.append(f"{where}.{key}: is not an object")
                continue
            if key == "patternProperties":
                for pattern in schema[key]:
                    problems += _regex_problems(pattern, f"{where}.{key}")
            yield from ((f"{where}.{key}.{name}", value) for name, value in schema[key].items())
    for key in SCHEMA_VALUES:
        if key in schema:
            yield f"{where}.{key}", schema[key]
    items = schema.get("items", True)
    if isinstance(items, list):
        yield from ((f"{where}.items[{i}]", s) for i, s in enumerate(items))
    elif "items" in schema:
        yield f"{where}.items", items
    for key in SCHEMA_LISTS:
        if key in schema:
            if not isinstance(schema[key], list) or not schema[key]:
                problems.append(f"{where}.{key}: is not a non-empty list")
                continue
            yield from ((f"{where}.{key}[{i}]", s) for i, s in enumerate(schema[key]))


def _regex_problems(pattern: str, where: str) -> list[str]:
    """A pattern Python cannot compile as `validate` rewrites it (Go flag groups scoped): jsonschema could
    not apply it either."""
    try:
        re.compile(python_pattern(pattern))
    except re.error as err:
        return [f"{where}: {pattern!r} is not a regular expression ({err})"]
    return []


def _is_int(value: Any) -> bool:
    """A JSON integer (not a boolean)."""
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    """A JSON number (not a boolean)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def document_problems(path: str, body: bytes) -> list[str]:
    """Why a downloaded file cannot be vendored: not JSON, not a JSON object, or not a valid schema."""
    try:
        data = json.loads(body)
    except ValueError as err:
        return [f"{path}: not JSON ({err})"]
    if not isinstance(data, dict):
        return [f"{path}: not a JSON object but {type(data).__name__}"]
    return [f"{path}: {problem}" for problem in schema_problems(data)]


# -- provenance ---------------------------------------------------------------------------------

PROVENANCE_HEAD = """\
# Provenance of the vendored CRD schemas

JSON schemas of custom resources, in the layout `{{group}}/{{kind}}_{{version}}.json`, copied unchanged
from the public CRDs catalog (https://github.com/{catalog}, MIT licence: see LICENSE), which converts
each upstream project's CustomResourceDefinitions to JSON Schema with `additionalProperties: false`.
They ship in the package, so `validate` and `check` run offline from any directory and from an
installed wheel.

`make update-crd-schemas` (scripts/update-crd-schemas.py, online) downloads every file below and every
kind the script names, checks that each is a JSON object and a valid JSON Schema, writes them
atomically and rewrites this file. CI never runs it.
"""


def render_provenance(entries: Sequence[FileEntry], upstream: Mapping[str, Upstream], stale: Iterable[str] = ()) -> str:
    """PROVENANCE.md: the source, upstream versions per group, and every file with its sha256, date and commit."""
    stale = set(stale)
    lines = [PROVENANCE_HEAD.format(catalog=CATALOG), "## Upstream versions", "",
             "| group | project | version | how we know |", "| --- | --- | --- | --- |"]
    for group in sorted({entry.path.split("/")[0] for entry in entries}):
        lines.append(_upstream_row(group, upstream.get(group), group in stale))
    lines += ["", "## Files", "", f"Source: `{RAW_URL.format(ref='{commit}', path='{file}')}`.", "",
              "| file | sha256 | retrieved | catalog commit |", "| --- | --- | --- | --- |"]
    for entry in sorted(entries, key=lambda e: e.path):
        commit = f"`{entry.commit}`" if entry.commit else "not recorded (branch `main`)"
        lines.append(f"| `{entry.path}` | `{entry.sha256}` | {entry.retrieved} | {commit} |")
    return "\n".join(lines) + "\n"


def _upstream_row(group: str, known: Upstream | None, stale: bool) -> str:
    """One row of the upstream table; a group without a known release, or whose files changed, says so."""
    if known is None:
        return f"| {group} | ? | not determined | add it to UPSTREAM in scripts/update-crd-schemas.py |"
    if stale:
        return (f"| {group} | {known.project} | to look up: the files changed since {known.version} was recorded "
                "| then update UPSTREAM in scripts/update-crd-schemas.py |")
    return f"| {group} | {known.project} | {known.version} | {known.evidence} |"


def provenance_files(text: str) -> dict[str, str]:
    """{file: sha256} of the Files table of a PROVENANCE.md."""
    rows = re.findall(r"^\| `([^`]+\.json)` \| `([0-9a-f]{64})` \|", text, flags=re.MULTILINE)
    return dict(rows)


# -- download and write -------------------------------------------------------------------------


def fetch(url: str) -> bytes:
    """The body at `url`; any failure, a 404 included, is an UpdateFailed naming the URL."""
    request = urllib.request.Request(url, headers={"User-Agent": "gemma-gitops update-crd-schemas"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            return bytes(response.read())
    except urllib.error.HTTPError as err:
        err.close()
        raise UpdateFailed(f"{url}: HTTP {err.code}") from err
    except (urllib.error.URLError, OSError) as err:
        raise UpdateFailed(f"{url}: {getattr(err, 'reason', err)}") from err


def catalog_commit(get: Fetch, commit_url: str = COMMIT_URL) -> str | None:
    """The commit `main` of the catalog is at, from GitHub's API; None when it cannot be learnt (rate limit, ...)."""
    try:
        sha = json.loads(get(commit_url)).get("sha")
    except (UpdateFailed, ValueError, AttributeError):
        return None
    return sha if isinstance(sha, str) and re.fullmatch(r"[0-9a-f]{40}", sha) else None


def download(paths: Sequence[str], ref: str, get: Fetch, raw_url: str = RAW_URL) -> dict[str, bytes]:
    """Every file at `ref`, checked; all problems of all files in one UpdateFailed."""
    bodies: dict[str, bytes] = {}
    problems: list[str] = []
    for path in paths:
        try:
            bodies[path] = get(raw_url.format(ref=ref, path=path))
        except UpdateFailed as err:
            problems.append(str(err))
            continue
        if path.endswith(".json"):
            problems += document_problems(path, bodies[path])
    if problems:
        raise UpdateFailed("\n".join(problems))
    return bodies


def write_atomically(dest: Path, files: Mapping[str, bytes]) -> None:
    """Each file through a temporary file beside it, fsynced, then renamed over the old one."""
    for path, body in files.items():
        target = dest / path
        target.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
        try:
            with os.fdopen(descriptor, "wb") as out:
                out.write(body)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


def changed_groups(dest: Path, bodies: Mapping[str, bytes]) -> set[str]:
    """Groups with a file that is new or differs from the vendored copy."""
    return {path.split("/")[0] for path, body in bodies.items()
            if path.endswith(".json") and (not (dest / path).is_file() or (dest / path).read_bytes() != body)}


@dataclass(frozen=True)
class Source:
    """Where the catalog is read from: GitHub, or a mirror with the same layout."""

    raw_url: str = RAW_URL  # with {ref} and {path}
    commit_url: str = COMMIT_URL  # GitHub's JSON for the latest commit of main


def update(dest: Path, today: str, get: Fetch = fetch, source: Source | None = None,
           kinds: Mapping[str, Sequence[str]] = KINDS) -> list[str]:
    """Download, check, write and record; returns the groups whose upstream version must be looked up again."""
    source = source or Source()
    commit = catalog_commit(get, source.commit_url)
    paths = wanted_files(dest, kinds)
    bodies = download([*paths, LICENSE], commit or "main", get, source.raw_url)
    stale = changed_groups(dest, bodies)
    entries = [FileEntry(path, hashlib.sha256(bodies[path]).hexdigest(), today, commit) for path in paths]
    write_atomically(dest, {**bodies, PROVENANCE: render_provenance(entries, UPSTREAM, stale).encode()})
    print(f"update-crd-schemas: {len(paths)} schemas from {CATALOG} at {commit or 'main (commit unknown)'} into {dest}")
    return sorted(stale)


def main(argv: Sequence[str] | None = None) -> int:
    """Refresh the vendored schemas; 1 with every problem listed when anything fails (nothing is written)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dest", type=Path, default=DEST, help=f"schema directory (default: {DEST})")
    parser.add_argument("--raw-url", default=RAW_URL, help="a mirror of the catalog: URL template with {ref} and {path}")
    parser.add_argument("--commit-url", default=COMMIT_URL, help="where the mirror says its latest commit (GitHub's JSON)")
    args = parser.parse_args(argv)
    try:
        stale = update(args.dest, datetime.date.today().isoformat(), source=Source(args.raw_url, args.commit_url))
    except UpdateFailed as err:
        print(f"update-crd-schemas: nothing written:\n{err}", file=sys.stderr)
        return 1
    if stale:
        print(f"update-crd-schemas: changed upstream files in {', '.join(stale)}: look up which releases they come "
              "from, update UPSTREAM in scripts/update-crd-schemas.py and run again")
    return 0


if __name__ == "__main__":
    sys.exit(main())
