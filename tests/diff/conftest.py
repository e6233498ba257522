"""Fixtures for `diff`: a real git repository holding a copy of the project, and a CLI to run in it."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from generator.cli import cli
from tests.conftest import REPO

# Values the expected outputs name, pinned in the base commit so the tests do not follow values/ edits.
# The proxy's ceilings are pinned too: by default they follow the context size, and the tests change it.
PINNED: dict[tuple[str, tuple[str, ...]], Any] = {
    ("prod", ("llama", "contextSize")): 4096,
    ("prod", ("proxy", "limits", "maxTokens")): 2048,
    ("prod", ("proxy", "limits", "completionBodyKiB")): 128,
}


Diff = Callable[..., Result]
Git = Callable[..., str]


@pytest.fixture(autouse=True)
def isolated_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No global or system git configuration (hooks, signing, default branch) reaches the tests."""
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        monkeypatch.delenv(name, raising=False)


def git_in(repo: Path, *args: str) -> str:
    """Run git in `repo`, failing the test on error; its stdout, stripped."""
    result = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"git {' '.join(args)}: {result.stderr}"
    return result.stdout.strip()


def init_repository(repo: Path) -> None:
    """`git init` on branch main, with a local identity."""
    git_in(repo, "init", "--quiet", "--initial-branch", "main")
    git_in(repo, "config", "user.name", "Test")
    git_in(repo, "config", "user.email", "test@example.com")
    git_in(repo, "config", "commit.gpgsign", "false")


def commit(repo: Path, message: str) -> str:
    """Commit everything in the working tree; the new commit's abbreviated id."""
    git_in(repo, "add", "--all")
    git_in(repo, "commit", "--quiet", "--message", message)
    return git_in(repo, "rev-parse", "--short", "HEAD")


def copy_project(dest: Path) -> Path:
    """The project's schemas/, values/ and generator/ package (so the base renders with its own)."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("schemas", "values", "generator"):
        shutil.copytree(REPO / name, dest / name, ignore=ignore)
    for (env, path), value in PINNED.items():
        set_value(dest, env, path, value)
    return dest


def set_value(project: Path, env: str, path: tuple[str, ...], value: Any) -> None:
    """Set one value in values/<env>.yaml (comments are lost; the tests do not read them)."""
    file = project / "values" / f"{env}.yaml"
    data = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    node = data
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = value
    file.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository on branch main whose one commit (the base) holds a copy of the project."""
    root = copy_project(tmp_path / "repo")
    init_repository(root)
    commit(root, "base")
    return root


@pytest.fixture
def git(repo: Path) -> Git:
    """git in the test repository: `git("checkout", "-b", "feature")`."""
    return lambda *args: git_in(repo, *args)


def invoke_diff(root: Path, *args: str) -> Result:
    """`gemma-gitops --root ROOT diff ARGS...`."""
    return CliRunner().invoke(cli, ["--root", str(root), "diff", *args], catch_exceptions=False)


@pytest.fixture
def diff(repo: Path) -> Diff:
    """`diff` in the test repository; pass root= to run elsewhere."""
    return lambda *args, root=None: invoke_diff(root or repo, *args)
