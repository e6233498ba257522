"""Shell completion: the scripts `completion SHELL` prints, run in the real shells where they are installed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from generator.cli.completion import COMPLETE_VAR

BIN = Path(sys.executable).parent  # where the gemma-gitops console script is


def environ() -> dict[str, str]:
    """gemma-gitops first on PATH, nothing else of ours."""
    return {"PATH": f"{BIN}{os.pathsep}/usr/bin{os.pathsep}/bin", "HOME": os.environ.get("HOME", "/tmp")}


@pytest.fixture
def marked(project: Path) -> Path:
    (project / "gemma-gitops.toml").write_text("")
    return project


def script(shell: str) -> str:
    result = subprocess.run([BIN / "gemma-gitops", "completion", shell], capture_output=True, text=True, check=True)
    return result.stdout


def bash_complete(cwd: Path, words: list[str]) -> list[str]:
    """What bash offers for `words` (the last one being completed), through the sourced script's function."""
    quoted = " ".join(f"'{w}'" for w in words)
    program = (f'source <(gemma-gitops completion bash)\nCOMP_WORDS=({quoted}); COMP_CWORD={len(words) - 1}\n'
               '_gemma_gitops_completion gemma-gitops\nprintf "%s\\n" "${COMPREPLY[@]}"\n')
    result = subprocess.run(["bash", "-c", program], cwd=cwd, env=environ(), capture_output=True, text=True, check=True)
    return [line for line in result.stdout.splitlines() if line]


@pytest.mark.parametrize(("words", "expected"), [
    (["gemma-gitops", "re"], ["render"]),
    (["gemma-gitops", "c"], ["check", "completion"]),
    (["gemma-gitops", "render", ""], ["prod", "staging"]),
    (["gemma-gitops", "template", "st"], ["staging"]),
    (["gemma-gitops", "template", "prod", "--o"], ["--output"]),
    (["gemma-gitops", "template", "prod", "-o", ""], ["yaml", "json"]),
    (["gemma-gitops", "budget", "prod", "--se"], ["--set"]),
    (["gemma-gitops", "completion", ""], ["bash", "zsh", "fish"]),
    (["gemma-gitops", "init", "--model", "qwen"], ["qwen2.5-0.5b-instruct"]),
])
def test_bash_completes_commands_options_and_environments(marked: Path, words: list[str], expected: list[str]) -> None:
    assert bash_complete(marked / "values", words) == expected


def test_bash_completes_no_environment_outside_a_project(tmp_path: Path) -> None:
    assert bash_complete(tmp_path, ["gemma-gitops", "render", ""]) == []


def test_the_script_calls_back_through_the_documented_variable() -> None:
    for shell in ("bash", "zsh", "fish"):
        assert COMPLETE_VAR in script(shell), shell


@pytest.mark.skipif(shutil.which("fish") is None, reason="fish is not installed (apt-get install fish)")
def test_fish_completes_commands_and_environments(marked: Path, tmp_path: Path) -> None:
    (tmp_path / "gemma-gitops.fish").write_text(script("fish"))
    program = (f"source {tmp_path / 'gemma-gitops.fish'}; complete -C 'gemma-gitops render '; "
               "complete -C 'gemma-gitops tem'")
    result = subprocess.run(["fish", "--no-config", "-c", program], cwd=marked, env=environ(),
                            capture_output=True, text=True, check=True)
    assert result.stdout.splitlines() == ["prod", "staging", "template\tPrint the manifests of ENV"]


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed (apt-get install zsh)")
def test_zsh_script_parses_and_its_protocol_answers(marked: Path, tmp_path: Path) -> None:
    (tmp_path / "_gemma-gitops").write_text(script("zsh"))
    subprocess.run(["zsh", "-n", tmp_path / "_gemma-gitops"], check=True)
    # What the zsh function runs for `gemma-gitops render <TAB>`: type, value and description per candidate.
    answer = subprocess.run([BIN / "gemma-gitops"], cwd=marked, capture_output=True, text=True, check=True,
                            env={**environ(), COMPLETE_VAR: "zsh_complete", "COMP_WORDS": "gemma-gitops render ",
                                 "COMP_CWORD": "2"})
    assert answer.stdout.splitlines() == ["plain", "prod", "_", "plain", "staging", "_"]
