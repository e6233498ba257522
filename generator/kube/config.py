"""Validation options, resolved once: command-line option > environment > project config > default.

Project config lives in the project root's pyproject.toml::

    [tool.gemma-gitops.validate]
    schema-locations = ["schemas/my-crds", "default"]
    kubernetes-versions = ["1.31", "1.34"]
    ignore-kinds = ["ClusterSecretStore"]

Relative local schema locations are resolved against the project root when they come from
pyproject.toml, and against the working directory when given as an option or in the
environment (`GEMMA_GITOPS_SCHEMA_LOCATIONS`, comma- or whitespace-separated).
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generator.errors import GeneratorError
from generator.kube import bundled
from generator.kube.cache import default_cache_dir
from generator.kube.location import CACHED_PREFIX, CATALOG_KEYWORD, CATALOG_URL, DEFAULT_KEYWORD, parse_template

ENV_SCHEMA_LOCATIONS = "GEMMA_GITOPS_SCHEMA_LOCATIONS"
# Two recent minors the bundled wheel ships (it has 1.25 to 1.37 as of kubernetes-validate 1.37.0).
DEFAULT_KUBERNETES_VERSIONS = ("1.31", "1.34")
# The CRD schemas the package carries (generator/schemas/crds, with their licence and provenance):
# every custom resource we render or let users add validates offline, from any directory.
VENDORED_CRDS = Path(__file__).resolve().parents[1] / "schemas" / "crds"
CONFIG_KEYS = frozenset({"schema-locations", "kubernetes-versions", "ignore-kinds"})
# Checks `--skip` can turn off: CRD CEL rules, the API server's native checks, our cross-resource rules.
SKIPPABLE = ("cel", "native", "rules")


@dataclass(frozen=True)
class ValidateOptions:
    """Everything a validation run needs to know, resolved and absolute."""

    root: Path
    schema_locations: tuple[str, ...] = ()  # templates; relative paths already resolved
    kubernetes_versions: tuple[str, ...] = DEFAULT_KUBERNETES_VERSIONS
    # Per environment directory (`rendered/prod`): the versions its values name, when no option
    # or project config overrides them.
    scope_versions: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    ignore_kinds: frozenset[str] = field(default_factory=frozenset)
    cache_dir: Path | None = None
    kubeconform: bool = False
    skip: frozenset[str] = field(default_factory=frozenset)  # names from SKIPPABLE


def default_locations() -> tuple[str, ...]:
    """Offline by default: the vendored CRD schemas, then what an earlier run cached from the catalog."""
    return (VENDORED_CRDS.as_posix(), CACHED_PREFIX + CATALOG_URL)


def split_locations(text: str) -> tuple[str, ...]:
    """The locations in an environment variable: comma- or whitespace-separated, `{{ .X }}` kept whole."""
    return tuple(re.findall(r"(?:\{\{.*?\}\}|[^,\s])+", text))


def absolute_locations(locations: Sequence[str], base: Path, root: Path) -> tuple[str, ...]:
    """Locations with relative paths made absolute and `default` expanded to the defaults."""
    resolved: list[str] = []
    for location in locations:
        parse_template(location)  # a typo is reported in the text the user wrote
        if location == DEFAULT_KEYWORD:
            resolved.extend(default_locations())
        elif location == CATALOG_KEYWORD:
            resolved.append(CATALOG_URL)
        elif location.startswith(("http://", "https://", CACHED_PREFIX)):
            resolved.append(location)
        else:
            resolved.append((base / os.path.expanduser(location)).as_posix())
    return tuple(resolved)


def read_project_config(root: Path) -> dict[str, Any]:
    """`[tool.gemma-gitops.validate]` of the root's pyproject.toml; unknown keys are an error."""
    pyproject = root / "pyproject.toml"
    if not pyproject.is_file():
        return {}
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as err:
        raise GeneratorError(f"{pyproject}: cannot read project config: {err}") from err
    section = data.get("tool", {}).get("gemma-gitops", {}).get("validate", {})
    unknown = sorted(set(section) - CONFIG_KEYS)
    if unknown:
        known = ", ".join(sorted(CONFIG_KEYS))
        raise GeneratorError(
            f"{pyproject}: unknown key(s) {', '.join(unknown)} in [tool.gemma-gitops.validate] (known: {known})"
        )
    return {key: _string_list(pyproject, key, value) for key, value in section.items()}


def _string_list(pyproject: Path, key: str, value: Any) -> tuple[str, ...]:
    """A config value that must be a list of strings."""
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise GeneratorError(f"{pyproject}: [tool.gemma-gitops.validate] {key} must be a list of strings")
    return tuple(value)


def normalize_version(text: str) -> str:
    """`1.31` from `1.31`, `v1.31` or `1.31.4`; a version the wheel lacks is an error."""
    match = re.fullmatch(r"v?(\d+)\.(\d+)(?:\.\d+)?", text.strip())
    version = f"{match.group(1)}.{match.group(2)}" if match else text
    available = bundled.available_versions()
    if version not in available:
        raise GeneratorError(f"Kubernetes version {text!r} has no bundled schemas (available: {', '.join(available)})")
    return version


def resolve_options(
    root: Path,
    *,
    schema_locations: Sequence[str] = (),
    kubernetes_versions: Sequence[str] = (),
    ignore_kinds: Sequence[str] = (),
    cache_dir: Path | None = None,
    kubeconform: bool = False,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    values_versions: Mapping[str, Sequence[str]] | None = None,
    skip: Sequence[str] = (),
) -> ValidateOptions:
    """Options from each source in precedence order: option > environment > pyproject > default."""
    environ = environ or {}
    cwd = cwd or Path.cwd()
    config = read_project_config(root)
    return ValidateOptions(
        root=root,
        schema_locations=_pick_locations(root, cwd, schema_locations, environ, config),
        kubernetes_versions=_pick_versions(kubernetes_versions or config.get("kubernetes-versions", ())),
        ignore_kinds=frozenset(ignore_kinds or config.get("ignore-kinds", ())),
        cache_dir=cache_dir or default_cache_dir(environ),
        kubeconform=kubeconform,
        skip=parse_skip(skip),
        scope_versions={} if kubernetes_versions or "kubernetes-versions" in config else {
            scope: _pick_versions(versions) for scope, versions in (values_versions or {}).items()},
    )


def parse_skip(values: Sequence[str]) -> frozenset[str]:
    """The checks to skip from `--skip cel,native` (repeatable, comma-separated); an unknown name is an error."""
    names = {name.strip() for value in values for name in value.split(",") if name.strip()}
    unknown = sorted(names - set(SKIPPABLE))
    if unknown:
        raise GeneratorError(f"--skip: unknown check(s) {', '.join(unknown)} (known: {', '.join(SKIPPABLE)})")
    return frozenset(names)


def _pick_versions(chosen: Sequence[str]) -> tuple[str, ...]:
    """The chosen Kubernetes versions, normalized and deduplicated, or the defaults."""
    return tuple(dict.fromkeys(normalize_version(v) for v in chosen or DEFAULT_KUBERNETES_VERSIONS))


def _pick_locations(
    root: Path, cwd: Path, option: Sequence[str], environ: Mapping[str, str], config: Mapping[str, Any]
) -> tuple[str, ...]:
    """The schema locations from the first source that sets them."""
    if option:
        return absolute_locations(option, cwd, root)
    from_env = split_locations(environ.get(ENV_SCHEMA_LOCATIONS, ""))
    if from_env:
        return absolute_locations(from_env, cwd, root)
    if "schema-locations" in config:
        return absolute_locations(config["schema-locations"], root, root)
    return default_locations()
