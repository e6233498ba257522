"""JSON Schema validation, fast and exact: jsonschema-rs gives the verdict, jsonschema names the errors.

Every schema check of the package (the values schema, the Kubernetes and the CRD schemas) goes
through a `Validator`. jsonschema-rs (Rust) decides whether a document is valid, about 150 times
faster than jsonschema on our schemas (bench/libraries.py); only a document it finds invalid is walked
again by jsonschema, the reference implementation, whose messages every report, test and fixture
uses. So the messages are jsonschema's, and so is the verdict whenever anything is wrong.

The two could disagree silently in one direction only: jsonschema-rs passing a document that
jsonschema fails. What is known to do that is closed here by construction, each case going to
jsonschema alone: a schema jsonschema-rs cannot compile (a `$ref` it cannot resolve offline, a pattern
its regex engine refuses), a document it cannot read (bytes, a set, a key that is not a string: it
raises) and a tuple (YAML's `!!omap` and `!!pairs`), which jsonschema-rs reads as an array and
jsonschema does not. tests/unit/test_jsonschemas.py compares the two verdicts on every document of
the test corpus and on mutations of it. Neither asserts `format`, as jsonschema without a format
checker never did here.

jsonschema and referencing (about 45 ms of imports) load only when a document fails or a schema must
be checked against its metaschema.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from functools import cache, cached_property
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import jsonschema_rs

if TYPE_CHECKING:
    import jsonschema
    import referencing

DRAFT4 = "http://json-schema.org/draft-04/schema#"
DRAFT6 = "http://json-schema.org/draft-06/schema#"
DRAFT7 = "http://json-schema.org/draft-07/schema#"
DRAFT2019_09 = "https://json-schema.org/draft/2019-09/schema"
DRAFT2020_12 = "https://json-schema.org/draft/2020-12/schema"
# The drafts both libraries implement, by the `$schema` URIs jsonschema knows them by (its URIDict
# drops an empty fragment, so `...schema#` and `...schema` are one draft).
_FAST: dict[str, type[jsonschema_rs.Validator]] = {
    form: cls
    for uri, cls in (
        (DRAFT4, jsonschema_rs.Draft4Validator),
        (DRAFT6, jsonschema_rs.Draft6Validator),
        (DRAFT7, jsonschema_rs.Draft7Validator),
        (DRAFT2019_09, jsonschema_rs.Draft201909Validator),
        (DRAFT2020_12, jsonschema_rs.Draft202012Validator),
    )
    for form in (uri.rstrip("#"), uri.rstrip("#") + "#")
}


class SchemaUnusable(Exception):
    """The schema cannot be applied offline: a `$ref` that does not resolve, a pattern Python cannot compile."""


class Resources:
    """Documents that `$ref`s may resolve to, by URI, offline; read once, shared by every schema using them."""

    def __init__(self, documents: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        self._documents = dict(documents or {})

    @cached_property
    def fast(self) -> jsonschema_rs.Registry | None:
        """jsonschema-rs's registry of the documents (None when there are none)."""
        return jsonschema_rs.Registry([(uri, dict(doc)) for uri, doc in self._documents.items()]) if self._documents else None

    @cached_property
    def exact(self) -> referencing.Registry[Any]:
        """referencing's registry of the documents, for jsonschema."""
        from referencing import Registry, Resource

        registry: referencing.Registry[Any] = Registry()
        for uri, contents in self._documents.items():
            registry = registry.with_resource(uri, Resource.from_contents(contents))
        return registry


NO_RESOURCES = Resources()


def draft_of(schema: Mapping[str, Any], default: str) -> str:
    """The draft a schema declares with `$schema`, else `default` (jsonschema's `validator_for` rule)."""
    declared = schema.get("$schema")
    return declared if isinstance(declared, str) else default


class Validator:
    """One schema, compiled once: jsonschema-rs passes documents, jsonschema fails them and names the errors.

    `schema` and `iter_errors` are those of a jsonschema validator, so it stands in for one.
    """

    def __init__(self, schema: Mapping[str, Any], draft: str, resources: Resources = NO_RESOURCES) -> None:
        self.schema = schema
        self.draft = draft
        self._resources = resources
        self._fast = compile_fast(schema, draft, resources)

    @cached_property
    def exact(self) -> jsonschema.protocols.Validator:
        """The jsonschema validator, built on first need."""
        return exact_class(self.draft)(self.schema, registry=self._resources.exact)

    def is_valid(self, instance: Any) -> bool:
        """jsonschema's verdict; jsonschema is asked only when jsonschema-rs does not pass the document
        (it is stricter in places: ECMA's `$` does not match before a final newline, Python's does)."""
        return self.fast_verdict(instance) or next(self._exact_errors(instance), None) is None

    def fast_verdict(self, instance: Any) -> bool | None:
        """jsonschema-rs's verdict alone, None when it cannot give one (what tests and bench/ compare)."""
        return None if self._fast is None else fast_is_valid(self._fast, instance)

    def iter_errors(self, instance: Any) -> Iterator[jsonschema.ValidationError]:
        """Every error, in jsonschema's words; for a valid document nothing, without asking jsonschema.

        Raises SchemaUnusable when the schema cannot be applied offline."""
        if self.fast_verdict(instance):
            return iter(())
        return self._exact_errors(instance)

    def _exact_errors(self, instance: Any) -> Iterator[jsonschema.ValidationError]:
        """jsonschema's errors, a failure to apply the schema raised as SchemaUnusable."""
        from referencing.exceptions import Unresolvable

        try:
            yield from self.exact.iter_errors(instance)
        except (Unresolvable, re.error) as err:
            raise SchemaUnusable(str(err)) from err


_COMPILED: dict[tuple[int, str], Validator] = {}


def compiled(schema: Mapping[str, Any], draft: str) -> Validator:
    """The validator of a schema object, compiled once per process however often it is asked for."""
    found = _COMPILED.get((id(schema), draft))
    if found is None or found.schema is not schema:  # an id is unique only while its object lives
        found = _COMPILED[id(schema), draft] = Validator(schema, draft)
    return found


def compile_fast(schema: Mapping[str, Any], draft: str, resources: Resources = NO_RESOURCES,
                 keywords: Mapping[str, type] | None = None) -> jsonschema_rs.Validator | None:
    """jsonschema-rs's validator (with custom `keywords`, each a class jsonschema-rs instantiates with the
    keyword's schema and calls `validate(instance)` on), or None when it has no such draft or cannot
    compile the schema."""
    cls = _FAST.get(draft)
    if cls is None:
        return None
    try:
        # Offline: a `$ref` outside the resources fails here, and jsonschema reports it. Formats are not asserted.
        return cls(cast(dict[str, Any], schema), validate_formats=False, registry=resources.fast, offline=True,
                   keywords=dict(keywords) if keywords else None)
    except (ValueError, jsonschema_rs.ReferencingError):
        return None


def fast_is_valid(fast: jsonschema_rs.Validator, instance: Any) -> bool | None:
    """jsonschema-rs's verdict on a document, None when it cannot read it as JSON."""
    if not _json_only(instance):
        return None
    try:
        return bool(fast.is_valid(instance))
    except ValueError:
        return None


def _json_only(value: Any) -> bool:
    """Whether a document holds no tuple, the one non-JSON type jsonschema-rs accepts (as an array)."""
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is dict:
            stack.extend(item.values())
        elif kind is list:
            stack.extend(item)
        elif kind is tuple:
            return False
    return True


def exact_class(draft: str) -> type[jsonschema.protocols.Validator]:
    """jsonschema's validator class for a draft URI; draft 7 for one it does not know, as `validator_for`
    with that default picks for a schema's unknown `$schema`."""
    import jsonschema

    return jsonschema.validators.validator_for({"$schema": draft}, default=jsonschema.Draft7Validator)


def metaschema_error(schema: Mapping[str, Any], draft: str) -> str | None:
    """Why a schema is not valid against its draft's metaschema (jsonschema's message), or None."""
    import jsonschema

    try:
        exact_class(draft).check_schema(cast(dict[str, Any], schema))
    except jsonschema.SchemaError as err:
        return err.message
    return None


@cache
def _jsonschema_version() -> str:
    """The installed jsonschema's version, from its dist-info directory's name: neither jsonschema nor
    importlib.metadata (10-30 ms of imports) is loaded for it."""
    spec = find_spec("jsonschema")
    if spec is not None and spec.origin:
        found = list(Path(spec.origin).parents[1].glob("jsonschema-*.dist-info"))
        if len(found) == 1:
            return found[0].name.removeprefix("jsonschema-").removesuffix(".dist-info")
    from importlib.metadata import version  # an unusual installation: ask the slow way

    return version("jsonschema")


def canonical(schema: Mapping[str, Any]) -> str:
    """A schema's content as one text, the same for equal schemas whatever their key order."""
    return json.dumps(schema, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_key(schema: Mapping[str, Any], draft: str, text: str | None = None) -> str:
    """A digest of what a metaschema check depends on: the schema's content (`text`, its canonical form when
    the caller has it), its draft, jsonschema's version."""
    content = f"{draft}\n{_jsonschema_version()}\n{canonical(schema) if text is None else text}"
    return hashlib.sha256(content.encode("utf-8")).hexdigest()
