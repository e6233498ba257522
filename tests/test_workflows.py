"""GitHub Actions workflows, ours and the one `init` writes: every action pinned to a commit, least privilege."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from generator.scaffold import managed_files
from tests.conftest import REPO

PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")


def workflows() -> dict[str, dict[Any, Any]]:
    """Every workflow by name: the repository's, and the scaffold's as init writes it."""
    found = {p.relative_to(REPO).as_posix(): yaml.safe_load(p.read_text()) for p in sorted((REPO / ".github/workflows").glob("*.yml"))}
    scaffold = next(f for f in managed_files("0.0.0") if f.path.endswith(".yml"))
    found[f"(init) {scaffold.path}"] = yaml.safe_load(scaffold.data)
    return found


@pytest.mark.parametrize("name", sorted(workflows()))
def test_every_action_is_pinned_to_a_commit(name: str) -> None:
    steps = [step for job in workflows()[name]["jobs"].values() for step in job["steps"]]
    unpinned = [step["uses"] for step in steps if "uses" in step and not PINNED.match(step["uses"])]
    assert unpinned == []


@pytest.mark.parametrize("name", sorted(workflows()))
def test_the_token_can_only_read_unless_a_job_says_why(name: str) -> None:
    workflow = workflows()[name]
    assert workflow["permissions"] == {"contents": "read"}
    for job, spec in workflow["jobs"].items():
        assert set(spec.get("permissions", {}).values()) <= {"read", "write"}, job


def test_the_release_builds_checks_installs_and_runs_init_check_validate() -> None:
    release = workflows()[".github/workflows/release.yml"]
    assert release[True] == {"push": {"tags": ["v*"]}}  # YAML 1.1 reads the key `on` as true
    script = "\n".join(step.get("run", "") for step in release["jobs"]["build"]["steps"])
    for command in ("python -m build", "twine check --strict dist/*", "pip install dist/*.whl", "gemma-gitops init deploy",
                    "gemma-gitops check", "gemma-gitops validate", "gemma-gitops template prod"):
        assert command in script, command
    assert release["jobs"]["pypi"]["permissions"] == {"id-token": "write"}
    assert release["jobs"]["github-release"]["permissions"] == {"contents": "write"}


def test_the_smoke_commands_run_in_order() -> None:
    """init, then check and validate in the new project, as tests/install does offline."""
    script = Path(REPO / ".github/workflows/release.yml").read_text()
    positions = [script.index(c) for c in ("gemma-gitops init deploy", "gemma-gitops check", "gemma-gitops validate")]
    assert positions == sorted(positions)
