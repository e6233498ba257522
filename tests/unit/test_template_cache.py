"""Compiled templates are kept between runs: the next run compiles nothing and renders the same bytes."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jinja2
import pytest

from generator import render
from generator.render import TEMPLATE_CACHE_SUBDIR, jinja_env, render_plan
from tests.plans import plan_for


@pytest.fixture(autouse=True)
def fresh_environments() -> Iterator[None]:
    """Each render below is a new process as far as templates go: no environment outlives a test."""
    jinja_env.cache_clear()
    yield
    jinja_env.cache_clear()


@pytest.fixture
def compiles(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The name of every template Jinja compiles from its source."""
    names: list[str] = []
    real = jinja2.Environment._parse

    def counting(self: jinja2.Environment, source: str, name: str | None, filename: str | None) -> Any:
        names.append(name or "")
        return real(self, source, name, filename)

    monkeypatch.setattr(jinja2.Environment, "_parse", counting)
    return names


def texts(cache_dir: Path | None) -> list[str]:
    """The prod render's files, as a run with this cache directory renders them."""
    jinja_env.cache_clear()
    return [m.text for m in render_plan(plan_for("prod"), cache_dir)]


def test_the_next_run_compiles_nothing_and_renders_the_same(tmp_path: Path, compiles: list[str]) -> None:
    uncached = texts(None)
    first_compiles = len(compiles)
    assert first_compiles >= 16
    assert texts(tmp_path) == uncached
    assert len(compiles) == 2 * first_compiles
    assert len(list((tmp_path / TEMPLATE_CACHE_SUBDIR).iterdir())) == first_compiles
    assert texts(tmp_path) == uncached
    assert len(compiles) == 2 * first_compiles  # every template came from the cache


def test_the_first_run_makes_the_cache_directory_and_its_parents(tmp_path: Path, compiles: list[str]) -> None:
    cache_dir = tmp_path / "xdg-cache" / "gemma-gitops"  # a machine's first run: not even the parent exists
    expected = texts(cache_dir)
    once = len(compiles)
    assert texts(cache_dir) == expected
    assert len(compiles) == once  # every template came from the cache


@pytest.mark.parametrize("garbage", [
    b"", b"j2\x00not bytecode", b"\x00" * 64,
    jinja2.bccache.bc_magic + b"\x80\x04not a pickle",  # past the version check: pickle raises
    jinja2.bccache.bc_magic + b"\x80\x04\x95",  # truncated
])
def test_an_entry_it_cannot_read_is_compiled_again(tmp_path: Path, compiles: list[str], garbage: bytes) -> None:
    expected = texts(tmp_path)
    for entry in (tmp_path / TEMPLATE_CACHE_SUBDIR).iterdir():
        entry.write_bytes(garbage)
    once = len(compiles)
    assert texts(tmp_path) == expected
    assert len(compiles) == 2 * once  # every template compiled again
    assert texts(tmp_path) == expected  # and written again: trusted from now on
    assert len(compiles) == 2 * once


def test_a_cache_that_cannot_be_made_costs_a_compile_never_a_render(tmp_path: Path) -> None:
    blocked = tmp_path / "cache"
    blocked.write_text("a file where the cache directory should be")
    assert texts(blocked) == texts(None)
    assert render._template_cache(blocked) is None


def test_concurrent_runs_share_the_cache(tmp_path: Path, compiles: list[str]) -> None:
    """Four renders at once on an empty cache: all succeed, and what they leave is whole and used."""
    repo = Path(__file__).resolve().parents[2]
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(repo), "HOME": str(tmp_path), "XDG_CACHE_HOME": str(tmp_path)}
    runs = []
    for index in range(4):
        project = tmp_path / f"project{index}"
        shutil.copytree(repo / "schemas", project / "schemas")
        shutil.copytree(repo / "values", project / "values")
        runs.append(subprocess.Popen([sys.executable, "-m", "generator", "--root", str(project), "render"], env=env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
    errors = [(run.wait(timeout=300), run.stderr.read().decode() if run.stderr else "") for run in runs]
    for run in runs:
        if run.stderr:
            run.stderr.close()
    assert all(code == 0 for code, _ in errors), errors
    cache_dir = tmp_path / "gemma-gitops"
    assert not [p for p in (cache_dir / TEMPLATE_CACHE_SUBDIR).iterdir() if p.suffix != ".jinja2"]
    assert texts(cache_dir) == texts(None)
    assert len(compiles) == len(set(compiles))  # the cached run compiled nothing; the uncached one each once
