"""`template ENV`: rendered/ENV/ on stdout, byte for byte, and nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

from generator.cli import cli
from tests.conftest import REPO, snapshot


def invoke(root: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--root", str(root), *args], catch_exceptions=False)


def committed_stream(root: Path, env: str) -> str:
    """What "identical to rendered/<env>/" means: the files' exact bytes, one after the other, in name order."""
    return "".join(path.read_text(encoding="utf-8") for path in sorted((root / "rendered" / env).iterdir()))


@pytest.mark.parametrize("env", ["prod", "staging"])
def test_the_yaml_stream_is_the_committed_tree(env: str) -> None:
    result = invoke(REPO, "template", env)
    assert result.exit_code == 0, result.output
    assert result.stdout == committed_stream(REPO, env)
    assert result.stderr == ""  # the shipped values render silently


@pytest.mark.parametrize("env", ["prod", "staging"])
def test_the_stream_has_one_document_per_file_and_no_empty_one(env: str) -> None:
    files = sorted((REPO / "rendered" / env).iterdir())
    documents = list(yaml.safe_load_all(invoke(REPO, "template", env).stdout))
    assert documents == [yaml.safe_load(path.read_text()) for path in files]
    assert None not in documents


def test_the_json_list_holds_the_same_objects() -> None:
    result = invoke(REPO, "template", "prod", "-o", "json")
    listing = json.loads(result.stdout)
    assert (listing["apiVersion"], listing["kind"]) == ("v1", "List")
    files = sorted((REPO / "rendered/prod").iterdir())
    assert listing["items"] == [yaml.safe_load(path.read_text()) for path in files]


def test_template_writes_nothing(project: Path) -> None:
    before = {p.relative_to(project).as_posix() for p in project.rglob("*")}
    result = invoke(project, "template", "prod")
    assert result.exit_code == 0, result.output
    assert {p.relative_to(project).as_posix() for p in project.rglob("*")} == before
    assert snapshot(project) == {}


def test_template_takes_exactly_one_environment(project: Path) -> None:
    assert invoke(project, "template").exit_code == 2
    assert invoke(project, "template", "prod", "staging").exit_code == 2


def test_a_deployment_that_cannot_fit_prints_nothing_on_stdout(project: Path) -> None:
    result = invoke(project, "template", "prod", "--set", "llama.resources.limits.memory=1Gi")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "the deployment cannot run as configured" in result.stderr
