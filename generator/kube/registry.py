"""Schema lookup: the bundled Kubernetes schemas first, then each schema location in order.

As in kubeconform (yannh/kubeconform, pkg/validator/validator.go `downloadSchema`), a location
that does not have the schema ("not found": no file, HTTP 404) moves on to the next one, and a
real failure stops the lookup. Unlike kubeconform, a schema that is there but broken (not
JSON, not a JSON schema) is reported as broken, never as "not found". Each schema is read and
compiled once per process and reused for every resource and environment; each Kubernetes
version's `_definitions.json` is read once and shared by all its kinds; a schema from a location
is checked against its metaschema once per content (generator/kube/metaschema.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator import jsonschemas, kubeschemas
from generator.gopattern import python_pattern
from generator.kube import bundled, cache, metaschema
from generator.kube.location import CACHED_PREFIX, SchemaLocation, expand, template_values
from generator.manifest import Identity

DOWNLOAD_TIMEOUT_SECONDS = 30
BUNDLED = "the bundled Kubernetes schemas"

Download = Callable[[str], "bytes | None"]


class LookupFailed(Exception):
    """A schema exists but cannot be used (broken JSON, bad schema, failed download)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class SchemaNotFound(Exception):
    """No location has a schema for the resource; `tried` lists where we looked."""

    def __init__(self, tried: tuple[str, ...]) -> None:
        super().__init__(", ".join(tried))
        self.tried = tried


@dataclass(frozen=True)
class CompiledSchema:
    """A ready validator and where its schema came from."""

    validator: jsonschemas.Validator
    source: str
    versioned: bool  # whether another Kubernetes version may have given another schema


def download(url: str) -> bytes | None:
    """The body at a URL, None on 404; any other failure raises LookupFailed."""
    import urllib.error  # only a run that downloads pays for the HTTP stack
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_SECONDS) as response:
            return bytes(response.read())
    except urllib.error.HTTPError as err:
        err.close()  # it holds the response and its socket
        if err.code == 404:
            return None
        raise LookupFailed(f"error while downloading schema at {url}: HTTP status {err.code}") from err
    except (urllib.error.URLError, OSError) as err:
        reason = getattr(err, "reason", err)
        raise LookupFailed(f"failed downloading schema at {url}: {reason}") from err


def parse_schema(body: bytes, where: str) -> dict[str, Any]:
    """A schema document from raw bytes; anything but a JSON object is a broken schema."""
    try:
        data = json.loads(body)
    except ValueError as err:
        raise LookupFailed(f"broken schema at {where}: not valid JSON ({err})") from err
    if not isinstance(data, dict):
        raise LookupFailed(f"broken schema at {where}: a JSON {type(data).__name__}, not an object")
    return data


def python_patterns(node: Any) -> Any:
    """A schema whose `pattern`s and `patternProperties` keys are Python regular expressions (see
    generator/gopattern.py)."""
    if isinstance(node, dict):
        return {k: python_pattern(v) if k == "pattern" and isinstance(v, str)
                else {python_pattern(p): python_patterns(sub) for p, sub in v.items()}
                if k == "patternProperties" and isinstance(v, dict) else python_patterns(v)
                for k, v in node.items()}
    if isinstance(node, list):
        return [python_patterns(item) for item in node]
    return node


def compile_location_schema(schema: dict[str, Any], where: str, cache_dir: Path | None = None) -> jsonschemas.Validator:
    """A validator for a CRD schema (draft 7 unless it says otherwise), checked against its metaschema
    once per content; `$ref`s resolve only inside it, never over the network."""
    text = jsonschemas.canonical(schema)
    if "(?" in text:  # a flag group somewhere: rewrite the patterns (a walk over the whole schema otherwise)
        schema = python_patterns(schema)
        text = jsonschemas.canonical(schema)
    draft = jsonschemas.draft_of(schema, jsonschemas.DRAFT7)
    error = metaschema.check(schema, draft, cache_dir, text)
    if error is not None:
        raise LookupFailed(f"broken schema at {where}: not a valid JSON schema ({error})")
    return jsonschemas.Validator(schema, draft)


def compile_bundled_schema(schema: dict[str, Any], version: str, schema_cache: Path | None = None) -> jsonschemas.Validator:
    """A validator for a bundled kind schema, its `$ref`s resolved against what it reaches of `_definitions.json`
    (kept in the schema cache: kubeschemas.definitions_for)."""
    resources = kubeschemas.definitions_for(version, kubeschemas.definition_refs(schema), schema_cache)
    return jsonschemas.Validator(schema, jsonschemas.DRAFT2020_12, resources)


class SchemaRegistry:
    """Finds, compiles and remembers the schema of each (signature, Kubernetes version)."""

    def __init__(
        self,
        locations: tuple[SchemaLocation, ...],
        cache_dir: Path | None,
        fetch: Download = download,
    ) -> None:
        self._locations = locations
        self._cache_dir = cache_dir
        self._fetch = fetch
        self._by_target: dict[str, CompiledSchema | LookupFailed | None] = {}

    def lookup(self, signature: Identity, version: str) -> CompiledSchema:
        """The compiled schema; raises SchemaNotFound or LookupFailed."""
        found = self._bundled(signature, version)
        if found is not None:
            return found
        tried = [BUNDLED]
        values = template_values(signature.kind, signature.api_version, f"{version}.0", strict=True)
        for location in self._locations:
            target = expand(location, values)
            found = self._from_location(location, target)
            if found is not None:
                return found
            tried.append(target)
        raise SchemaNotFound(tuple(tried))

    def _bundled(self, signature: Identity, version: str) -> CompiledSchema | None:
        """The wheel's schema for this kind and version, compiled once."""
        key = f"bundled:{version}:{signature.api_version}:{signature.kind}"
        if key not in self._by_target:
            schema = bundled.load_schema(signature, version)
            self._by_target[key] = (
                None
                if schema is None
                else CompiledSchema(compile_bundled_schema(schema, version, self._cache_dir), f"Kubernetes {version}", True)
            )
        return self._remembered(key)

    def _from_location(self, location: SchemaLocation, target: str) -> CompiledSchema | None:
        """The schema at one expanded location, None when it is not there; compiled once."""
        if target not in self._by_target:
            try:
                schema = self._read(location, target)
                self._by_target[target] = (
                    None
                    if schema is None
                    else CompiledSchema(
                        compile_location_schema(schema, target, self._cache_dir), target,
                        location.uses_kubernetes_version,
                    )
                )
            except LookupFailed as err:
                self._by_target[target] = err
        return self._remembered(target)

    def _remembered(self, key: str) -> CompiledSchema | None:
        """A remembered lookup: the schema, None for not found, or the failure raised again."""
        found = self._by_target[key]
        if isinstance(found, LookupFailed):
            raise found
        return found

    def _read(self, location: SchemaLocation, target: str) -> dict[str, Any] | None:
        """The parsed schema at a path or URL, None when it does not exist."""
        if location.is_remote:
            return self._read_remote(target.removeprefix(CACHED_PREFIX), download=not location.cache_only)
        path = Path(target)
        if not path.is_file():
            return None
        try:
            return parse_schema(path.read_bytes(), target)
        except OSError as err:
            raise LookupFailed(f"cannot read schema at {target}: {err.strerror}") from err

    def _read_remote(self, url: str, download: bool) -> dict[str, Any] | None:
        """A downloaded schema: from the cache, or (when allowed) fetched, parsed, and only then cached."""
        if self._cache_dir is not None:
            cached = cache.get(self._cache_dir, url)
            if cached is not None:
                return cached
        if not download:
            return None
        body = self._fetch(url)
        if body is None:
            return None
        schema = parse_schema(body, url)
        if self._cache_dir is not None:
            try:
                cache.put(self._cache_dir, url, schema)
            except OSError as err:  # kubeconform too fails the lookup: "failed writing schema to cache"
                raise LookupFailed(f"failed writing schema to cache {self._cache_dir}: {err}") from err
        return schema
