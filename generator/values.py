"""Values: an environment's files → strict YAML with line numbers → layer merge → JSON-Schema validation.

Layers, lowest first: the defaults written in the schema, `values/_shared.yaml` when present,
then `values/<env>.yaml`. Maps merge key by key; lists and scalars replace what is below them.

Values are what they say: a file is UTF-8 text without control or bidirectional-override characters,
within the YAML limits of yamlio.py, plain YAML (no tags beyond the core schema's); an integer is an
integer (`8080.0` is not), a pattern's `$` is the end of the string (not before a final newline), a
number is finite, and nothing in any layer looks like a credential (credentials.py).
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jsonschema_rs
import yaml

from . import credentials, jsonschemas, kubeschemas, yamlio
from .errors import ValuesError
from .problems import KeyPath, Problem, key_path
from .settings import PACKAGED_SCHEMA, SHARED_LAYER, Settings
from .valuefiles import ENV_NAME, environment_names, read_text

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError
    from jsonschema.protocols import Validator

Where = Mapping[KeyPath, tuple[str, int]]  # key path → (file, line) of the layer that last set it (0: no line)
ENV_NAME_MAX = 63  # an RFC 1123 label: it names a directory, an Application and a label value
# The tags a values file may carry, explicitly or as resolved: the YAML core schema's. `!!python/name`,
# `!!binary`, `!!set` or an application tag would mean something no values key expects.
PLAIN_TAGS = frozenset(f"tag:yaml.org,2002:{name}" for name in
                       ("str", "int", "float", "bool", "null", "map", "seq", "timestamp"))


@dataclass(frozen=True)
class Layer:
    """One values file as parsed: its data and the line of every key path in it."""

    file: str
    data: dict[str, Any]
    lines: Mapping[KeyPath, int] = field(default_factory=dict)


# Layers above an environment's files (`--set`, `-f`), made from what they are placed over.
Extra = Callable[[dict[str, Any]], list[Layer]]


@dataclass(frozen=True)
class Values:
    """An environment's merged, validated values, the file they came from, and where each key was set."""

    name: str
    file: str  # relative to the project root, e.g. values/prod.yaml
    data: dict[str, Any]
    where: Where = field(default_factory=dict)

    def locate(self, path: KeyPath, message: str, **kwargs: Any) -> Problem:
        """A problem at `path`, pinned to the file and line that last set it (or its nearest parent)."""
        return pin(path, message, self.file, self.where, **kwargs)


# -- strict YAML with line numbers -------------------------------------------------------------


def parse_layer(text: str, file: str) -> Layer:
    """Parse one values file; duplicate keys, YAML syntax errors, unsafe characters and crossed limits
    are reported with line and column."""
    unsafe = yamlio.unsafe_character(text)
    if unsafe is not None:
        line, column = yamlio.position(text, unsafe[0])
        problem = Problem(file, f"line {line}, column {column}", f"{unsafe[1]} is not allowed in a values file "
                          "(control and bidirectional-override characters hide what a reviewer reads)")
        raise ValuesError(f"{file}: not valid YAML", (problem,))
    try:
        node = yamlio.compose(text)
    except yaml.YAMLError as err:  # syntax, a crossed limit, or a character the reader refuses
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ValuesError(f"{file}: not valid YAML", (Problem(file, where, yamlio.problem_text(err)),)) from err
    if node is None:
        return Layer(file, {})
    problems: list[Problem] = []
    lines: dict[KeyPath, int] = {}
    data = _construct(node, (), file, lines, problems)
    if problems:
        raise ValuesError(f"{file}: not valid YAML", tuple(problems))
    if not isinstance(data, dict):
        got = Problem(file, "line 1", f"got {type(data).__name__}")
        raise ValuesError(f"{file}: expected a mapping at the top level", (got,))
    return Layer(file, data, lines)


def _construct(node: yaml.Node, path: KeyPath, file: str, lines: dict[KeyPath, int], problems: list[Problem]) -> Any:
    """Build plain Python data from a YAML node, recording lines and refusing duplicate keys, tags
    beyond the core schema, non-string keys and unsafe characters in strings."""
    lines[path] = node.start_mark.line + 1
    refused = _refused(node)
    if refused:
        problems.append(Problem(file, _where(node), refused))
        return None
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = _key(key_node, file, problems)
            if key is None:
                continue
            if key in out:
                problems.append(Problem(file, f"line {key_node.start_mark.line + 1}, column {key_node.start_mark.column + 1}",
                                        f"duplicate key {key!r} (first at line {lines[(*path, key)]})"))
                continue
            out[key] = _construct(value_node, (*path, key), file, lines, problems)
            lines[(*path, key)] = key_node.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_construct(item, (*path, i), file, lines, problems) for i, item in enumerate(node.value)]
    try:
        return yamlio.construct_scalar(node)
    except (yaml.YAMLError, ValueError, OverflowError) as err:  # `!!int x`, `!!float y`
        problems.append(Problem(file, _where(node), f"cannot read this {node.tag.rsplit(':', 1)[-1]}: {err}"))
        return None


def _where(node: yaml.Node) -> str:
    """`line 3, column 7` of a node."""
    return f"line {node.start_mark.line + 1}, column {node.start_mark.column + 1}"


def _refused(node: yaml.Node) -> str:
    """Why a node cannot be a value ('' when it can): a tag beyond the core schema, an unsafe string."""
    if node.tag not in PLAIN_TAGS:
        return f"the tag {node.tag!r} is not allowed in values: plain YAML only"
    unsafe = yamlio.unsafe_character(node.value, value=True) if isinstance(node.value, str) else None
    return f"{unsafe[1]} is not allowed in a value" if unsafe else ""


def _key(node: yaml.Node, file: str, problems: list[Problem]) -> str | None:
    """A mapping key as a string, or None (with a problem) for a key that is not a plain scalar."""
    if not isinstance(node, yaml.ScalarNode):
        problems.append(Problem(file, _where(node), "a key must be a plain string, not a list or a mapping"))
        return None
    refused = _refused(node)
    if refused:
        problems.append(Problem(file, _where(node), refused.replace("in a value", "in a key")))
        return None
    return str(node.value)


# -- layers ------------------------------------------------------------------------------------


def schema_defaults(schema: Mapping[str, Any], root: Mapping[str, Any] | None = None) -> Any:
    """The value the schema's `default`s give an object, recursing into its properties."""
    if not isinstance(schema, Mapping):
        return None  # a boolean schema: `false` allows nothing there, `true` anything, and neither has a default
    root = root if root is not None else schema
    if "$ref" in schema and "default" not in schema:
        return schema_defaults(resolve_ref(root, schema["$ref"]), root)
    if "default" in schema:
        return json.loads(json.dumps(schema["default"]))  # a private copy
    out = {}
    for key, sub in schema.get("properties", {}).items():
        value = schema_defaults(sub, root)
        if value is not None:
            out[key] = value
    return out or None


def resolve_ref(root: Mapping[str, Any], ref: str) -> Mapping[str, Any]:
    """Resolve a local `#/$defs/...` reference."""
    node: Any = root
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return dict(node)


def merge(base: Any, over: Any) -> Any:
    """Overlay `over` on `base`: maps merge key by key; lists and scalars replace."""
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for key, value in over.items():
            out[key] = merge(base.get(key), value) if key in base else value
        return out
    return over


def provenance(layers: list[Layer]) -> dict[KeyPath, tuple[str, int]]:
    """For every key path set by a file, the last file that set it and its line."""
    where: dict[KeyPath, tuple[str, int]] = {}
    for layer in layers:
        for path, line in layer.lines.items():
            if path:
                where[path] = (layer.file, line)
    return where


# -- validation --------------------------------------------------------------------------------


def _is_integer(checker: Any, instance: Any) -> bool:
    """An int, not a bool and not a float: JSON Schema calls `8080.0` an integer ("a number with a zero
    fractional part", json-schema.org numeric reference), and nginx refuses `listen 8080.0`."""
    return isinstance(instance, int) and not isinstance(instance, bool)


def _is_number(checker: Any, instance: Any) -> bool:
    """A finite int or float: YAML's `.nan` passes every `minimum` and `maximum` (comparisons with NaN are false)."""
    return _is_integer(checker, instance) or (isinstance(instance, float) and math.isfinite(instance))


def end_anchored(pattern: str) -> str:
    """The pattern with every `$` outside a character class made `\\Z`.

    A schema's `^…$` means the whole string, but Python's `$` also matches before a final newline
    (the re docs: "the end of the string or just before the newline at the end of the string"), so
    `gemma\\n` would pass `^[a-z]+$` and name a file with a newline in it."""
    out, i, members_from = [], 0, -1  # members_from: where an open character class's members start
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            out.append(pattern[i:i + 2])
            i += 2
            continue
        if members_from >= 0:
            members_from = -1 if char == "]" and i > members_from else members_from  # `[]a]` holds `]`
        elif char == "[":
            members_from = i + 1 + (pattern[i + 1:i + 2] == "^")
        elif char == "$":
            char = "\\Z"
        out.append(char)
        i += 1
    return "".join(out)


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(end_anchored(pattern))


def _pattern(validator: Any, pattern: str, instance: Any, schema: Mapping[str, Any]) -> Iterator[ValidationError]:
    """The `pattern` keyword with `$` as the end of the string."""
    from jsonschema.exceptions import ValidationError

    if validator.is_type(instance, "string") and not _compiled(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


@cache
def strict_validator() -> Any:
    """Draft 2020-12 with our integer, number and `$` (jsonschema's; loaded only to name errors)."""
    from jsonschema import Draft202012Validator, validators

    return validators.extend(
        Draft202012Validator, validators={"pattern": _pattern},
        type_checker=Draft202012Validator.TYPE_CHECKER.redefine_many({"integer": _is_integer, "number": _is_number}))


# A values schema keyword naming the upstream Kubernetes type a value must be (`io.k8s.api.core.v1.Toleration`):
# tolerations, affinity, extra volumes and the like go into the pod spec verbatim, so they are checked
# against the Kubernetes versions the environment names here, where the error can name the values line.
KUBERNETES_KEYWORD = "x-kubernetes-definition"


def _definition_ref(name: str) -> dict[str, str]:
    return {"$ref": f"{kubeschemas.DEFINITIONS_ID}#/$defs/{name}"}


@cache
def definition_validator(name: str, version: str) -> Validator:
    """jsonschema's validator for one API type (`io.k8s.api.core.v1.Toleration`) of one Kubernetes minor."""
    from jsonschema import Draft202012Validator

    return Draft202012Validator(_definition_ref(name), registry=kubeschemas.definitions_resources(version).exact)


def checked_versions(versions: Iterable[str]) -> tuple[str, ...]:
    """The versions an upstream type is checked against: those the wheel has, else its newest."""
    known = kubeschemas.available_versions()
    return tuple(v for v in versions if v in known) or known[-1:]


def definition_errors(name: str, instance: Any, versions: Iterable[str]) -> Iterator[tuple[ValidationError, tuple[str, ...]]]:
    """Every error of `instance` against the API type `name`, once, with the versions it occurs in."""
    wanted = checked_versions(versions)
    seen: dict[tuple[str, str], tuple[ValidationError, list[str]]] = {}
    for version in wanted:
        for error in definition_validator(name, version).iter_errors(instance):
            key = (error.json_path, error.message)
            seen.setdefault(key, (error, []))[1].append(version)
    for _, (error, found) in sorted(seen.items()):
        yield error, tuple(found) if len(found) < len(wanted) else ()


def values_validator(schema: Mapping[str, Any], versions: tuple[str, ...]) -> Validator:
    """The values schema's validator, with KUBERNETES_KEYWORD checked against these Kubernetes versions."""
    return _validator_class(versions)(schema)


@cache
def _validator_class(versions: tuple[str, ...]) -> Any:
    """The strict validator with KUBERNETES_KEYWORD, once per set of versions (environments share them)."""
    from jsonschema import validators

    def kubernetes_type(validator: Validator, name: str, instance: Any,
                        subschema: Mapping[str, Any]) -> Iterator[ValidationError]:
        for error, only in definition_errors(name, instance, versions):
            error.note = f" [Kubernetes {', '.join(only)} only]" if only else ""  # type: ignore[attr-defined]
            yield error

    return validators.extend(strict_validator(), {KUBERNETES_KEYWORD: kubernetes_type})


# -- the fast verdict: jsonschema-rs passes valid values; jsonschema (45 ms of imports) names the errors -----


def fast_verdict(values: Any, schema: Mapping[str, Any], versions: tuple[str, ...],
                 schema_cache: Path | None = None) -> bool | None:
    """jsonschema-rs's verdict on merged values, None when only jsonschema can give one.

    JSON Schema's integer takes `8080.0` and jsonschema-rs's number may take what JSON cannot write
    (NaN, infinity, a Decimal); ours refuse them (see _is_integer), so values holding a whole or
    non-finite float, or anything but plain JSON, go to jsonschema.
    jsonschema-rs's `$` is already the end of the string (ECMA 262), and KUBERNETES_KEYWORD is checked
    by jsonschema-rs too, per version. jsonschema-rs passing what jsonschema fails would let bad
    values through: tests/unit/test_jsonschemas.py compares the two on the repository's values and on
    mutations of every field."""
    if not _plain_json(values):
        return None
    fast = _fast_values_validator(schema, versions, schema_cache)
    return None if fast is None else jsonschemas.fast_is_valid(fast, values)


def _plain_json(value: Any) -> bool:
    """Whether a document is plain JSON (what the YAML loader makes) with no float that is whole or
    non-finite: where our types are stricter than JSON Schema's (a Decimal is a number to both libraries)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, float):
            if not math.isfinite(item) or item.is_integer():
                return False
        elif not isinstance(item, str | int | None):  # bool is an int
            return False
    return True


_FastKey = tuple[int, tuple[str, ...], Path | None]
_FAST_VALUES: dict[_FastKey, tuple[Mapping[str, Any], jsonschema_rs.Validator | None]] = {}


def _fast_values_validator(schema: Mapping[str, Any], versions: tuple[str, ...],
                           schema_cache: Path | None) -> jsonschema_rs.Validator | None:
    """jsonschema-rs's validator of a values schema for these Kubernetes versions, compiled once per process."""
    key = (id(schema), versions, schema_cache)
    found = _FAST_VALUES.get(key)
    if found is None or found[0] is not schema:  # an id is unique only while its object lives
        keywords = {KUBERNETES_KEYWORD: _fast_kubernetes_type(checked_versions(versions), schema_cache)}
        found = _FAST_VALUES[key] = (schema, jsonschemas.compile_fast(schema, jsonschemas.DRAFT2020_12, keywords=keywords))
    return found[1]


@cache
def _fast_definition(name: str, version: str, schema_cache: Path | None) -> jsonschema_rs.Validator | None:
    """jsonschema-rs's validator for one API type of one Kubernetes minor (what it reaches of
    `_definitions.json`, from the schema cache: kubeschemas.definitions_for)."""
    return jsonschemas.compile_fast(_definition_ref(name), jsonschemas.DRAFT2020_12,
                                    kubeschemas.definitions_for(version, [name], schema_cache))


def _fast_kubernetes_type(versions: tuple[str, ...], schema_cache: Path | None) -> type:
    """KUBERNETES_KEYWORD as a jsonschema-rs keyword: the value is of the named type in every version."""

    class KubernetesType:
        def __init__(self, parent_schema: Mapping[str, Any], name: str, schema_path: list[str | int]) -> None:
            self.name = name

        def validate(self, instance: Any) -> None:
            # Compiled on first use: values without pod pieces never read _definitions.json (1.5 MB a version).
            for version in versions:
                fast = _fast_definition(self.name, version, schema_cache)
                if fast is None or not jsonschemas.fast_is_valid(fast, instance):
                    raise ValueError("not of its Kubernetes type (jsonschema names why)")

    return KubernetesType


def declared_versions(values: Mapping[str, Any]) -> tuple[str, ...]:
    """The environment's `kubernetesVersions` when well-formed (the schema reports it otherwise), else ()."""
    versions = values.get("kubernetesVersions")
    ok = isinstance(versions, list) and all(isinstance(v, str) for v in versions)
    return tuple(versions) if ok and versions else ()


def validate(values: dict[str, Any], schema: Mapping[str, Any], env_file: str, where: Where,
             schema_cache: Path | None = None) -> list[Problem]:
    """Every schema violation of the merged values, each pinned to the file and line that set it."""
    versions = declared_versions(values)
    if fast_verdict(values, schema, versions, schema_cache):
        return []
    validator = values_validator(schema, versions)
    errors = sorted(validator.iter_errors(values), key=lambda e: [str(p) for p in e.absolute_path])
    ours = {tuple(e.absolute_path) for e in errors if not hasattr(e, "note")}
    problems: list[Problem] = []
    for error in errors:
        if hasattr(error, "note") and tuple(error.absolute_path) in ours:
            continue  # the values schema already said what is wrong here, in its own words
        problems.extend(_problems_for(error, env_file, where))
    return problems


def _problems_for(error: ValidationError, env_file: str, where: Where) -> Iterator[Problem]:
    """Turn one jsonschema error into problems; an unexpected key becomes one problem per key."""
    path = tuple(error.absolute_path)
    if error.validator == "additionalProperties":
        allowed = sorted(_schema_of(error).get("properties", {}))
        given = error.instance if isinstance(error.instance, dict) else {}
        for key in sorted(set(given) - set(allowed)):
            yield pin((*path, key), f"unknown key {key!r}; allowed here: {', '.join(allowed)}{_note(error)}", env_file, where)
        return
    yield pin(path, _explain(error, ours=not hasattr(error, "note")) + _note(error), env_file, where)


def _note(error: ValidationError) -> str:
    """` [Kubernetes 1.31 only]` for an error of an upstream type that only some of the versions have."""
    return str(getattr(error, "note", ""))


def pin(path: KeyPath, message: str, env_file: str, where: Where, **kwargs: Any) -> Problem:
    """A problem at `path`, located in the file and line that last set it (or its nearest parent)."""
    for depth in range(len(path), 0, -1):
        if path[:depth] in where:
            file, line = where[path[:depth]]
            # line 0: a layer without lines (`--set`), named by its source alone
            return Problem(file, key_path(path), message, line=line or None, **kwargs)
    return Problem(env_file, key_path(path) or "(top level)", message, **kwargs)


def _schema_of(error: ValidationError) -> Mapping[str, Any]:
    """The (sub)schema an error was raised by; jsonschema types it loosely."""
    return error.schema if isinstance(error.schema, Mapping) else {}


def shown(value: Any) -> str:
    """A bad value as an error line shows it: a scalar's repr (cut at 80 characters), a collection by
    its kind (its contents could be anything), a credential-looking string not at all."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str) and credentials.looks_secret(value):
        return "a value that looks like a credential (not shown)"
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:77]}..."


def _explain(error: ValidationError, ours: bool = True) -> str:
    """A message naming the bad value and what is allowed (and the field's description, unless upstream's)."""
    value, schema, kind = shown(error.instance), _schema_of(error), error.validator
    described = f" ({schema['description']})" if ours and "description" in schema else ""
    if kind == "required":
        return f"{error.message}{described}"
    if kind == "enum":
        return f"{value} is not one of {', '.join(repr(v) for v in schema.get('enum', []))}"
    if kind == "pattern":
        return f"{value} is not valid: expected {schema.get('description', 'a value matching ' + repr(error.validator_value))}"
    if kind in ("minimum", "maximum"):
        low, high = schema.get("minimum", "-inf"), schema.get("maximum", "inf")
        return f"{value} is out of range: expected {low} to {high}"
    if kind == "type":
        return f"{value} is not of type {error.validator_value!r}{described}"
    if kind == "uniqueItems":
        return f"{value} repeats an item{described}"
    if kind in BOUNDS:
        return f"{value} is not valid: expected {BOUNDS[kind].format(error.validator_value)}{described}"
    return f"{value} is not valid{described}"


# How a bound reads in an error line, for the keywords whose jsonschema message would echo the value.
BOUNDS = {
    "minLength": "at least {} character(s)", "maxLength": "at most {} characters",
    "minItems": "at least {} item(s)", "maxItems": "at most {} items",
    "minProperties": "at least {} key(s)", "maxProperties": "at most {} keys",
    "exclusiveMinimum": "more than {}", "exclusiveMaximum": "less than {}", "const": "exactly {!r}",
}


# -- the stage ---------------------------------------------------------------------------------


def load_schema(settings: Settings) -> dict[str, Any]:
    """Read the values schema of the project; one that is not a JSON Schema object is an error (exit 2)."""
    try:
        text = settings.schema_path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ValuesError(f"cannot read the values schema {settings.schema_path}: {err}") from err
    # The schema the package carries is checked against its metaschema by the tests, not on every run.
    problem = "" if text == packaged_schema_text() else schema_problem(text)
    if problem:
        raise ValuesError(f"cannot read the values schema {settings.schema_path}: {problem}")
    schema: dict[str, Any] = json.loads(text)
    return schema


@cache
def packaged_schema_text() -> str:
    """The text of the values schema the package carries."""
    return PACKAGED_SCHEMA.read_text(encoding="utf-8")


@lru_cache(maxsize=8)
def schema_problem(text: str) -> str:
    """What is wrong with a schema's text ('' when nothing); checked once per text (a check takes 40 ms)."""
    try:
        schema = json.loads(text)
    except json.JSONDecodeError as err:
        return str(err)
    error = jsonschemas.metaschema_error(schema, jsonschemas.DRAFT2020_12)
    if error is not None:
        return f"not a valid JSON Schema: {error}"
    return "" if isinstance(schema, dict) else "not a JSON object"


def read_layer(path: Path, settings: Settings) -> Layer:
    """Read and parse one values file."""
    file = path.relative_to(settings.root).as_posix()
    return parse_layer(read_text(path, settings.values_dir, file), file)


def load_environment(name: str, settings: Settings, schema: Mapping[str, Any], extra: Extra | None = None) -> Values:
    """Merge the layers of one environment, and the `extra` layers above them, and validate the result."""
    path = settings.values_dir / f"{name}.yaml"
    file = path.relative_to(settings.root).as_posix()
    if not ENV_NAME.match(name) or len(name) > ENV_NAME_MAX:
        raise ValuesError(f"{file}: environment name {shown(name)} must be a lowercase RFC 1123 label of at most "
                          f"{ENV_NAME_MAX} characters (it names a directory and an Application)")
    if not os.path.lexists(path):
        known = ", ".join(environment_names(settings)) or "none"
        raise ValuesError(f"unknown environment {name!r}: no {file} (environments: {known})")
    layers = [Layer("(schema defaults)", schema_defaults(schema) or {})]
    shared = settings.values_dir / SHARED_LAYER
    if os.path.lexists(shared):
        layers.append(read_layer(shared, settings))
    layers.append(read_layer(path, settings))
    if extra is not None:
        layers.extend(extra(merged(layers)))
    return merge_layers(name, file, layers, schema, settings.schema_cache)


def merged(layers: Sequence[Layer]) -> dict[str, Any]:
    """The data of layers merged, lowest first (what a layer above them is placed over)."""
    values: dict[str, Any] = {}
    for layer in layers:
        values = merge(values, layer.data)
    return values


def merge_layers(name: str, file: str, layers: list[Layer], schema: Mapping[str, Any],
                 schema_cache: Path | None = None) -> Values:
    """Merge layers, lowest first, and validate the result against the schema (`schema_cache`: see
    kubeschemas.definitions_for)."""
    values = merged(layers)
    values.pop("$schema", None)
    where = provenance(layers)
    secrets = [p for layer in layers for p in credentials.scan(layer.data, schema, layer.file, layer.lines)]
    # A schema error at a secret's field would show the value the secret check just kept quiet.
    hidden = {p.path for p in secrets}
    problems = secrets + [p for p in validate(values, schema, file, where, schema_cache) if not _overlaps(p.path, hidden)]
    if problems:
        raise ValuesError(f"{file}: {len(problems)} invalid value{'s' if len(problems) > 1 else ''}", tuple(problems))
    return Values(name, file, values, where)


def _overlaps(path: str, paths: set[str]) -> bool:
    """Whether a key path is one of `paths`, inside one, or holds one."""
    return any(path == p or path.startswith((f"{p}.", f"{p}[")) or p.startswith((f"{path}.", f"{path}["))
               for p in paths)


def load_all(settings: Settings, extra: Extra | None = None) -> tuple[Values, ...]:
    """Every requested environment (all of them by default), reporting the problems of all at once."""
    schema = load_schema(settings)
    loaded: list[Values] = []
    problems: list[Problem] = []
    failed: list[str] = []
    for name in settings.envs or environment_names(settings):
        try:
            loaded.append(load_environment(name, settings, schema, extra))
        except ValuesError as err:
            failed.append(err.message)  # a message without problems is said once, in the headline
            problems.extend(err.problems)
    if failed:
        raise ValuesError("; ".join(failed), tuple(problems))
    if not loaded:
        raise ValuesError(f"no environments: add a values file such as {settings.values_dir.name}/prod.yaml")
    return tuple(loaded)
