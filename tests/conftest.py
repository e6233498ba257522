"""Shared fixtures: a throwaway copy of the project to render into, and a CLI runner."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from generator.cli import cli

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def private_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads or writes the user's cache (schema downloads, metaschema records): XDG_CACHE_HOME is its own."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project root in tmp_path with the repository's schema and values, nothing rendered yet."""
    shutil.copytree(REPO / "schemas", tmp_path / "schemas")
    shutil.copytree(REPO / "values", tmp_path / "values")
    return tmp_path


Run = Callable[..., Result]


@pytest.fixture
def run(project: Path) -> Run:
    """Invoke the CLI on the temporary project: `run("render", "prod")`."""

    def invoke(*args: str, root: Path | None = None) -> Result:
        return CliRunner().invoke(cli, ["--root", str(root or project), *args], catch_exceptions=False)

    return invoke


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under rendered/ and argocd/, by relative path."""
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for top in ("rendered", "argocd") if (root / top).exists()
            for p in sorted((root / top).rglob("*")) if p.is_file()}
