"""Pairs of renders with different values, started together on one project: one writer at a time.

Each pair is two real processes; each is handed its own values for prod (the harness swaps the text
the values stage reads, so both run at once on one project), started a few milliseconds apart. The
review saw 5 mixed or missing trees in 230 pairs, twice with both runs exiting 0. Now every run exits
0 or 1 with the lock message, and the tree afterwards is exactly one of the two renders, whole.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from generator import tree
from generator.cli import cli
from tests.conftest import REPO
from tests.hostile.conftest import outputs

PAIRS = int(os.environ.get("GEMMA_GITOPS_STRESS_PAIRS", "12"))  # the review's 230 pairs take about 10 minutes here
# Runs the CLI with values/prod.yaml read as the text in the file named by argv[1].
WITH_VALUES = """
import sys
from pathlib import Path
from generator import values
override, real_read = Path(sys.argv[1]).read_text(), values.read_text
values.read_text = lambda path, inside, file: override if file == "values/prod.yaml" else real_read(path, inside, file)
sys.argv = ["gemma-gitops", *sys.argv[2:]]
from generator.cli import main
main()
"""
LOCK_MESSAGE = "error: another gemma-gitops run holds the project lock"


def variant(text: str, which: int) -> str:
    """Two values files that differ in the namespace (rendered/ and argocd/) and the context size."""
    if which == 1:
        return text
    return text.replace("namespace: default", "namespace: gemma-two").replace("contextSize: 4096", "contextSize: 8192")


@pytest.fixture(scope="module")
def expected(tmp_path_factory: pytest.TempPathFactory) -> dict[int, dict[str, bytes]]:
    """The tree each values variant renders to, rendered alone."""
    trees = {}
    for which in (1, 2):
        project = tmp_path_factory.mktemp(f"variant{which}")
        shutil.copytree(REPO / "values", project / "values")
        shutil.copytree(REPO / "schemas", project / "schemas")
        prod = project / "values/prod.yaml"
        prod.write_text(variant(prod.read_text(), which))
        assert CliRunner().invoke(cli, ["--root", str(project), "render"], catch_exceptions=False).exit_code == 0
        trees[which] = outputs(project)
    assert trees[1] != trees[2]
    return trees


def start(project: Path, values_file: Path) -> subprocess.Popen[str]:
    """A render of `project` that reads values/prod.yaml as `values_file` says."""
    environ = {**os.environ, "PYTHONPATH": str(REPO), "GEMMA_GITOPS_LOCK_WAIT": "60"}
    return subprocess.Popen([sys.executable, "-c", WITH_VALUES, str(values_file), "--root", str(project), "render"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environ)


def test_concurrent_renders_leave_exactly_one_whole_tree(tmp_path: Path, expected: dict[int, dict[str, bytes]]) -> None:
    project = tmp_path / "project"
    shutil.copytree(REPO / "values", project / "values")
    shutil.copytree(REPO / "schemas", project / "schemas")
    text = (project / "values/prod.yaml").read_text()
    files = {which: tmp_path / f"prod-{which}.yaml" for which in (1, 2)}
    for which, path in files.items():
        path.write_text(variant(text, which))
    outcomes: dict[int, int] = {1: 0, 2: 0}
    for pair in range(PAIRS):
        first, second = (1, 2) if pair % 2 == 0 else (2, 1)
        runs = [start(project, files[first])]
        time.sleep(0.01 * (pair % 5))  # from together to 40 ms apart: the lock is taken at different moments
        runs.append(start(project, files[second]))
        for proc in runs:
            stdout, stderr = proc.communicate(timeout=180)
            locked = any(line.startswith(LOCK_MESSAGE) for line in stderr.splitlines())
            assert proc.returncode == 0 or (proc.returncode == 1 and locked), stderr
            assert "Traceback" not in stderr
        now = outputs(project)
        matches = [which for which, whole in expected.items() if now == whole]
        assert matches, f"pair {pair}: the tree is neither render ({len(now)} files)"
        outcomes[matches[0]] += 1
        assert tree.leftovers(project) == [] and not (project / tree.JOURNAL).exists()
    assert sum(outcomes.values()) == PAIRS
