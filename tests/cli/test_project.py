"""The project: found from any subdirectory as git finds a repository, --root, the marker, --version, --help."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from generator.cli import cli
from generator.version import llama_build, tool_version
from tests.conftest import REPO

VALID = "Summary: 24 resources found in 24 files - Valid: 24, Invalid: 0, Errors: 0, Skipped: 0\n"  # check validates what it renders, then says so


def invoke(*args: str) -> Result:
    """The CLI without --root unless given: the project is found from the working directory."""
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture
def marked(project: Path) -> Path:
    """The test project with its marker, rendered once."""
    (project / "gemma-gitops.toml").write_text("")
    assert invoke("--root", str(project), "render").exit_code == 0
    return project


@pytest.mark.parametrize("subdirectory", [".", "values", "rendered/prod", "docs"])
def test_commands_find_the_project_from_a_subdirectory(marked: Path, subdirectory: str,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(marked / subdirectory)
    result = invoke("check")
    assert (result.exit_code, result.stdout) == (0, "in sync: 28 files for 2 environment(s)\n" + VALID)


def test_the_walk_skips_a_values_directory_without_the_marker(marked: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    nested = marked / "tests/e2e"
    (nested / "values").mkdir(parents=True)  # a values/ of something else, as tests/e2e/values is here
    monkeypatch.chdir(nested)
    assert invoke("check").stdout == "in sync: 28 files for 2 environment(s)\n" + VALID


def test_outside_a_project_the_error_names_where_the_search_started(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "values").mkdir()  # values/ alone is not a project
    monkeypatch.chdir(tmp_path)
    result = invoke("render")
    assert result.exit_code == 2
    assert result.output == (f"error: not in a gemma-gitops project: no gemma-gitops.toml beside a values/ directory in "
                             f"{tmp_path} or any directory above it (start one with `gemma-gitops init`, or pass --root)\n")


def test_root_wins_over_the_walk(marked: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    other = tmp_path / "elsewhere"
    other.mkdir()
    monkeypatch.chdir(other)
    assert invoke("--root", str(marked), "check", "prod").exit_code == 0


@pytest.mark.parametrize(("text", "message"), [
    ("versoin = '1'\n", "error: gemma-gitops.toml: unknown key 'versoin' (known: version)\n"),
    ("version = 1\n", 'error: gemma-gitops.toml: version must be a string such as "0.1.0", not 1\n'),
    ("version = \n", "error: gemma-gitops.toml: cannot read: "),
])
def test_a_bad_marker_is_an_error(marked: Path, text: str, message: str, monkeypatch: pytest.MonkeyPatch) -> None:
    (marked / "gemma-gitops.toml").write_text(text)
    monkeypatch.chdir(marked)
    result = invoke("check")
    assert result.exit_code == 2
    assert result.output.startswith(message)


def test_a_project_pinned_to_another_version_is_warned_about(marked: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (marked / "gemma-gitops.toml").write_text('version = "0.0.1"\n')
    monkeypatch.chdir(marked)
    result = invoke("check", "prod")
    assert result.exit_code == 0
    assert (f"warning: gemma-gitops.toml pins gemma-gitops 0.0.1, this is {tool_version()}: its output may differ "
            "from what CI renders (`gemma-gitops init` shows what moving the project to "
            f"{tool_version()} changes)") in result.stderr.splitlines()
    (marked / "gemma-gitops.toml").write_text(f'version = "{tool_version()}"\n')
    assert "pins" not in invoke("check", "prod").stderr


# -- an environment given as its values file ---------------------------------------------------


@pytest.mark.parametrize(("cwd", "arg"), [(".", "values/staging.yaml"), ("values", "staging.yaml"),
                                          ("rendered", "../values/staging.yaml")])
def test_a_values_file_is_understood_as_its_environment(marked: Path, cwd: str, arg: str,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(marked / cwd)
    result = invoke("render", arg)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == "rendered values/staging.yaml → rendered/staging/ (11 resources) and argocd/staging.yaml"


@pytest.mark.parametrize(("arg", "why"), [
    ("values/_shared.yaml", "is the layer under every environment"),
    ("values/nope.yaml", "is not a values/<env>.yaml file"),
    ("rendered/prod", "is not a values/<env>.yaml file"),
])
def test_a_path_that_is_not_an_environment_is_one_clear_line(marked: Path, arg: str, why: str,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(marked)
    result = invoke("render", arg)
    assert result.exit_code == 2
    assert result.output == (f"error: {arg} {why} of the project at {marked}: name an environment instead "
                             "(environments: prod, staging)\n")


def test_an_unknown_environment_is_said_once(marked: Path) -> None:
    result = invoke("--root", str(marked), "render", "nope")
    assert result.exit_code == 2
    assert result.output == "error: unknown environment 'nope': no values/nope.yaml (environments: prod, staging)\n"


# -- --version and --help ----------------------------------------------------------------------


def test_version_names_the_release_and_the_llama_cpp_build() -> None:
    result = subprocess.run([sys.executable, "-m", "generator", "--version"], capture_output=True, text=True, check=True)
    pyproject = (REPO / "pyproject.toml").read_text()
    version = re.search(r'^version = "([^"]+)"$', pyproject, re.MULTILINE)
    assert version is not None
    image = "ghcr.io/ggml-org/llama.cpp:server-b11434"
    assert result.stdout == f"gemma-gitops {version.group(1)} (llama.cpp b11434, {image})\n"


@pytest.mark.parametrize(("image", "build"), [
    ("ghcr.io/ggml-org/llama.cpp:server-b11434", "b11434"),
    ("ghcr.io/ggml-org/llama.cpp:server-b11434@sha256:" + "0" * 64, "b11434"),
    ("example.com/llama:1.0", "unknown build"),
])
def test_the_build_of_an_image(image: str, build: str) -> None:
    assert llama_build(image) == build


def commands() -> list[str]:
    group = cli
    assert isinstance(group, click.Group)
    return sorted(group.commands)


@pytest.mark.parametrize("command", commands())
def test_every_commands_help_lists_its_exit_codes(command: str) -> None:
    result = invoke(command, "--help")
    assert result.exit_code == 0
    codes = result.output[result.output.index("Exit codes:"):]
    assert re.match(r"Exit codes: 0 [^;]+;", codes), codes
    for code in re.findall(r"\b([0-9])\b(?= [a-z])", codes):
        assert code in ("0", "1", "2")


def test_the_groups_help_lists_the_commands_and_exit_codes() -> None:
    result = invoke("--help")
    assert result.exit_code == 0
    for command in commands():
        assert f"  {command} " in result.output
    assert "Exit codes: 0 success; 1 drift" in result.output
