"""Values: an environment's files → strict YAML with line numbers → layer merge → JSON-Schema validation.

Layers, lowest first: the defaults written in the schema, `values/_shared.yaml` when present,
then `values/<env>.yaml`. Maps merge key by key; lists and scalars replace what is below them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from . import jsonschemas, yamlio
from .errors import ValuesError
from .problems import KeyPath, Problem, key_path
from .settings import SHARED_LAYER, Settings

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError

Where = Mapping[KeyPath, tuple[str, int]]  # key path → (file, line) of the layer that last set it
ENV_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


@dataclass(frozen=True)
class Layer:
    """One values file as parsed: its data and the line of every key path in it."""

    file: str
    data: dict[str, Any]
    lines: Mapping[KeyPath, int] = field(default_factory=dict)


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
    """Parse one values file; duplicate keys and YAML syntax errors are reported with line and column."""
    try:
        node = yamlio.compose(text)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ValuesError(f"{file}: not valid YAML", (Problem(file, where, str(err.problem)),)) from err
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
    """Build plain Python data from a YAML node, recording lines and refusing duplicate keys."""
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in out:
                problems.append(Problem(file, f"line {key_node.start_mark.line + 1}, column {key_node.start_mark.column + 1}",
                                        f"duplicate key {key!r} (first at line {lines[(*path, key)]})"))
                continue
            out[key] = _construct(value_node, (*path, key), file, lines, problems)
            lines[(*path, key)] = key_node.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_construct(item, (*path, i), file, lines, problems) for i, item in enumerate(node.value)]
    return yamlio.construct_scalar(node)


# -- layers ------------------------------------------------------------------------------------


def schema_defaults(schema: Mapping[str, Any], root: Mapping[str, Any] | None = None) -> Any:
    """The value the schema's `default`s give an object, recursing into its properties."""
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


def validate(values: dict[str, Any], schema: Mapping[str, Any], env_file: str, where: Where) -> list[Problem]:
    """Every schema violation of the merged values, each pinned to the file and line that set it."""
    validator = jsonschemas.compiled(schema, jsonschemas.DRAFT2020_12)
    problems: list[Problem] = []
    for error in sorted(validator.iter_errors(values), key=lambda e: [str(p) for p in e.absolute_path]):
        problems.extend(_problems_for(error, env_file, where))
    return problems


def _problems_for(error: ValidationError, env_file: str, where: Where) -> Iterator[Problem]:
    """Turn one jsonschema error into problems; an unexpected key becomes one problem per key."""
    path = tuple(error.absolute_path)
    if error.validator == "additionalProperties":
        allowed = sorted(_schema_of(error).get("properties", {}))
        given = error.instance if isinstance(error.instance, dict) else {}
        for key in sorted(set(given) - set(allowed)):
            yield pin((*path, key), f"unknown key {key!r}; allowed here: {', '.join(allowed)}", env_file, where)
        return
    yield pin(path, _explain(error), env_file, where)


def pin(path: KeyPath, message: str, env_file: str, where: Where, **kwargs: Any) -> Problem:
    """A problem at `path`, located in the file and line that last set it (or its nearest parent)."""
    for depth in range(len(path), 0, -1):
        if path[:depth] in where:
            file, line = where[path[:depth]]
            return Problem(file, key_path(path), message, line=line, **kwargs)
    return Problem(env_file, key_path(path) or "(top level)", message, **kwargs)


def _schema_of(error: ValidationError) -> Mapping[str, Any]:
    """The (sub)schema an error was raised by; jsonschema types it loosely."""
    return error.schema if isinstance(error.schema, Mapping) else {}


def _explain(error: ValidationError) -> str:
    """A message naming the bad value and what is allowed."""
    value, schema, kind = error.instance, _schema_of(error), error.validator
    described = f" ({schema['description']})" if "description" in schema else ""
    if kind == "required":
        return f"{error.message}{described}"
    if kind == "enum":
        return f"{value!r} is not one of {', '.join(repr(v) for v in schema.get('enum', []))}"
    if kind == "pattern":
        return f"{value!r} is not valid: expected {schema.get('description', 'a value matching ' + repr(error.validator_value))}"
    if kind in ("minimum", "maximum"):
        low, high = schema.get("minimum", "-inf"), schema.get("maximum", "inf")
        return f"{value!r} is out of range: expected {low} to {high}"
    if kind == "type":
        return f"{value!r} is not of type {error.validator_value!r}{described}"
    return f"{error.message}{described}"


# -- the stage ---------------------------------------------------------------------------------


def load_schema(settings: Settings) -> dict[str, Any]:
    """Read the values schema of the project."""
    try:
        schema: dict[str, Any] = json.loads(settings.schema_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise ValuesError(f"cannot read the values schema {settings.schema_path}: {err}") from err
    return schema


def environment_names(settings: Settings) -> list[str]:
    """Every environment: each `values/<env>.yaml` whose name does not start with `_`."""
    if not settings.values_dir.is_dir():
        raise ValuesError(f"no values directory at {settings.values_dir}")
    return sorted(p.stem for p in settings.values_dir.glob("*.yaml") if not p.name.startswith("_"))


def read_layer(path: Path, settings: Settings) -> Layer:
    """Read and parse one values file."""
    file = path.relative_to(settings.root).as_posix()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise ValuesError(f"{file}: cannot read: {err.strerror}") from err
    return parse_layer(text, file)


def load_environment(name: str, settings: Settings, schema: Mapping[str, Any]) -> Values:
    """Merge the layers of one environment and validate the result."""
    path = settings.values_dir / f"{name}.yaml"
    file = path.relative_to(settings.root).as_posix()
    if not ENV_NAME.match(name):
        raise ValuesError(f"{file}: environment name {name!r} must be a lowercase RFC 1123 label "
                          "(it names a directory and an Application)")
    if not path.is_file():
        known = ", ".join(environment_names(settings)) or "none"
        raise ValuesError(f"unknown environment {name!r}: no {file} (environments: {known})")
    layers = [Layer("(schema defaults)", schema_defaults(schema) or {})]
    shared = settings.values_dir / SHARED_LAYER
    if shared.is_file():
        layers.append(read_layer(shared, settings))
    layers.append(read_layer(path, settings))
    return merge_layers(name, file, layers, schema)


def merge_layers(name: str, file: str, layers: list[Layer], schema: Mapping[str, Any]) -> Values:
    """Merge layers, lowest first, and validate the result against the schema."""
    values: dict[str, Any] = {}
    for layer in layers:
        values = merge(values, layer.data)
    values.pop("$schema", None)
    where = provenance(layers)
    problems = validate(values, schema, file, where)
    if problems:
        raise ValuesError(f"{file}: {len(problems)} invalid value{'s' if len(problems) > 1 else ''}", tuple(problems))
    return Values(name, file, values, where)


def load_all(settings: Settings) -> tuple[Values, ...]:
    """Every requested environment (all of them by default), reporting the problems of all at once."""
    schema = load_schema(settings)
    loaded: list[Values] = []
    problems: list[Problem] = []
    failed: list[str] = []
    for name in settings.envs or environment_names(settings):
        try:
            loaded.append(load_environment(name, settings, schema))
        except ValuesError as err:
            failed.append(err.message)
            problems.extend(err.problems or (Problem(name, "", err.message),))
    if failed:
        raise ValuesError("; ".join(failed), tuple(problems))
    if not loaded:
        raise ValuesError(f"no environments: add a values file such as {settings.values_dir.name}/prod.yaml")
    return tuple(loaded)


def kubernetes_versions(settings: Settings) -> dict[str, tuple[str, ...]]:
    """Each environment's `kubernetesVersions`, read leniently: no schema check, so a values file that is
    broken elsewhere does not stop `validate`; a file that cannot say gives the schema's default."""
    if not settings.values_dir.is_dir():
        return {}
    schema = load_schema(settings)
    default = tuple(schema_defaults(schema).get("kubernetesVersions") or ())
    shared = _declared_versions(settings.values_dir / SHARED_LAYER)
    return {name: _declared_versions(settings.values_dir / f"{name}.yaml") or shared or default
            for name in environment_names(settings)}


def _declared_versions(path: Path) -> tuple[str, ...]:
    """The `kubernetesVersions` list a values file sets, or () when it sets none it can be read for."""
    try:
        data = yamlio.load_one(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yamlio.YAMLError):
        return ()
    versions = data.get("kubernetesVersions") if isinstance(data, dict) else None
    ok = isinstance(versions, list) and all(isinstance(v, str) for v in versions)
    return tuple(versions) if ok and versions else ()
