"""Option resolution: option > environment > pyproject.toml > default."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.errors import GeneratorError
from generator.kube.cache import default_cache_dir
from generator.kube.config import (
    DEFAULT_KUBERNETES_VERSIONS,
    ENV_SCHEMA_LOCATIONS,
    VENDORED_CRDS,
    default_locations,
    normalize_version,
    resolve_options,
    split_locations,
)
from generator.kube.location import CATALOG_URL

PYPROJECT = """
[tool.gemma-gitops.validate]
schema-locations = ["crds", "https://schemas.example.com/{{.Group}}/{{.ResourceKind}}.json"]
kubernetes-versions = ["1.33"]
ignore-kinds = ["ClusterSecretStore"]
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project root with a [tool.gemma-gitops.validate] section."""
    root = tmp_path / "project"
    root.mkdir()
    (root / "pyproject.toml").write_text(PYPROJECT)
    return root


def test_the_option_wins(project: Path, tmp_path: Path) -> None:
    environ = {ENV_SCHEMA_LOCATIONS: "/from/env"}
    options = resolve_options(project, schema_locations=["/from/option"], environ=environ, cwd=tmp_path)
    assert options.schema_locations == ("/from/option",)


def test_the_environment_beats_the_project_config(project: Path, tmp_path: Path) -> None:
    environ = {ENV_SCHEMA_LOCATIONS: "/a, /b\n  rel"}
    options = resolve_options(project, environ=environ, cwd=tmp_path)
    assert options.schema_locations == ("/a", "/b", f"{tmp_path.as_posix()}/rel")


def test_the_project_config_beats_the_default_and_resolves_against_the_root(project: Path) -> None:
    options = resolve_options(project, environ={}, cwd=Path("/elsewhere"))
    assert options.schema_locations == (
        f"{project.as_posix()}/crds",
        "https://schemas.example.com/{{.Group}}/{{.ResourceKind}}.json",
    )
    assert options.kubernetes_versions == ("1.33",)
    assert options.ignore_kinds == frozenset({"ClusterSecretStore"})


def test_options_beat_the_project_config_for_versions_and_kinds(project: Path) -> None:
    options = resolve_options(project, kubernetes_versions=["v1.34.2", "1.34"], ignore_kinds=["Widget"], environ={})
    assert options.kubernetes_versions == ("1.34",)
    assert options.ignore_kinds == frozenset({"Widget"})


def test_defaults_are_offline_the_vendored_schemas_then_the_cache(tmp_path: Path) -> None:
    root = tmp_path / "main"
    root.mkdir()
    assert default_locations() == (VENDORED_CRDS.as_posix(), "cached:" + CATALOG_URL)
    assert (VENDORED_CRDS / "gateway.networking.k8s.io" / "httproute_v1.json").is_file()
    options = resolve_options(root, environ={})
    assert options.schema_locations == default_locations()
    assert options.kubernetes_versions == DEFAULT_KUBERNETES_VERSIONS == ("1.31", "1.34")


def test_default_keyword_expands_among_other_locations(tmp_path: Path) -> None:
    options = resolve_options(tmp_path, schema_locations=["/mine", "default"], environ={})
    assert options.schema_locations == ("/mine", *default_locations())


def test_catalog_keyword_goes_online_only_when_asked(tmp_path: Path) -> None:
    options = resolve_options(tmp_path, schema_locations=["default", "catalog"], environ={})
    assert options.schema_locations == (*default_locations(), CATALOG_URL)


def test_cache_dir_follows_xdg(tmp_path: Path) -> None:
    assert default_cache_dir({"XDG_CACHE_HOME": "/xdg"}) == Path("/xdg/gemma-gitops/schemas")
    assert resolve_options(tmp_path, environ={"XDG_CACHE_HOME": "/xdg"}).cache_dir == Path("/xdg/gemma-gitops/schemas")
    assert resolve_options(tmp_path, cache_dir=Path("/c"), environ={}).cache_dir == Path("/c")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (",a b,,c\t", ("a", "b", "c")),
        ("", ()),
        ("/s/{{ .Group }}/{{ .ResourceKind }}.json, default", ("/s/{{ .Group }}/{{ .ResourceKind }}.json", "default")),
    ],
)
def test_split_locations(text: str, expected: tuple[str, ...]) -> None:
    assert split_locations(text) == expected


def test_a_version_without_bundled_schemas_is_refused() -> None:
    with pytest.raises(GeneratorError, match=r"Kubernetes version '1\.9' has no bundled schemas \(available: 1\.25, "):
        normalize_version("1.9")


def test_an_unknown_config_key_is_refused(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.gemma-gitops.validate]\nschema-location = ["x"]\n')
    with pytest.raises(GeneratorError, match="unknown key.*schema-location"):
        resolve_options(tmp_path, environ={})


def test_a_config_value_of_the_wrong_type_is_refused(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.gemma-gitops.validate]\nignore-kinds = "Widget"\n')
    with pytest.raises(GeneratorError, match="ignore-kinds must be a list of strings"):
        resolve_options(tmp_path, environ={})
