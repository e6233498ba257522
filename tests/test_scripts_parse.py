"""Every shell script of the repository parses, and no file holds a merge's conflict markers."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO

SHELL_SCRIPTS = sorted([REPO / ".ci" / "run", *(REPO / "scripts").glob("*.sh")])


@pytest.mark.parametrize("script", SHELL_SCRIPTS, ids=lambda p: p.relative_to(REPO).as_posix())
def test_the_script_parses(script: Path) -> None:
    shell = "bash" if "bash" in script.read_text(encoding="utf-8").splitlines()[0] else "sh"
    done = subprocess.run([shell, "-n", str(script)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


def test_no_conflict_markers_are_committed() -> None:
    done = subprocess.run(["git", "-C", str(REPO), "grep", "-nE", "^(<<<<<<< |>>>>>>> |=======$)", "--", ".",
                           ":!*.json", ":!*.md"], capture_output=True, text=True, check=False)
    assert done.stdout == "", done.stdout
