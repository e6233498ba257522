"""Each schema is parsed and compiled once: validating more environments compiles nothing more."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from generator.kube import registry as registry_module
from generator.kube.check import validate_paths
from tests.kube.conftest import POSITIVE, options_for


def make_environments(root: Path, count: int) -> None:
    """rendered/env0..env{count-1}: copies of the positive prod environment."""
    for index in range(count):
        shutil.copytree(POSITIVE / "rendered" / "prod", root / "rendered" / f"env{index}")


def counting(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record every schema compilation."""
    calls: list[str] = []
    for name in ("compile_bundled_schema", "compile_location_schema"):
        real = getattr(registry_module, name)

        def wrapper(*args: Any, _real: Any = real, _name: str = name) -> Any:
            calls.append(_name)
            return _real(*args)

        monkeypatch.setattr(registry_module, name, wrapper)
    return calls


def test_compilations_do_not_grow_with_environments(
    tmp_path: Path, crd_schemas: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = counting(monkeypatch)
    make_environments(tmp_path, 4)
    options = options_for(tmp_path, crd_schemas)
    validate_paths([tmp_path / "rendered" / "env0"], options)
    after_one = len(calls)
    # 5 core kinds x 2 versions + 3 CRDs whose catalog location is the same for both versions
    assert after_one == 13
    report = validate_paths([tmp_path / "rendered"], options)
    assert len(calls) == after_one
    assert len(report.results) == 32 and not report.failed
