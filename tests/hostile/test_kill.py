"""SIGKILL aimed at every step between the directory swaps: the next command completes the write.

Renames alone cannot swap rendered/, argocd/, docs/ and schemas/ at once. Here a render kills itself right after
its Nth rename (or right after it removes the journal), in a real process; whatever it left, the next
command (a `check`, which only reads) finds the journal and completes the write before it compares,
so the outputs are exactly the new render, with nothing left behind.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from generator import tree
from generator.cli import cli
from tests.conftest import REPO
from tests.hostile.conftest import outputs

# Runs the CLI with os.<operation> wrapped so that the process SIGKILLs itself right after the Nth call.
KILLER = """
import os, signal, sys
operation, after = sys.argv[1], int(sys.argv[2])
real, calls = getattr(os, operation), [0]
def killing(*args, **kwargs):
    result = real(*args, **kwargs)
    calls[0] += 1
    if calls[0] == after:
        os.kill(os.getpid(), signal.SIGKILL)
    return result
setattr(os, operation, killing)
sys.argv = ["gemma-gitops", *sys.argv[3:]]
from generator.cli import main
main()
"""
# The renames of a write that changes every output directory: the journal into place, then two per directory.
RENAMES = ("journal", "rendered aside", "rendered in", "argocd aside", "argocd in", "docs aside", "docs in",
           "schemas aside", "schemas in")


def make_project(base: Path, new: bool) -> Path:
    """The repository's values and schema; `new` changes the values (so rendered/ and argocd/ change)."""
    base.mkdir()
    shutil.copytree(REPO / "values", base / "values")
    shutil.copytree(REPO / "schemas", base / "schemas")
    if new:
        prod = base / "values/prod.yaml"
        prod.write_text(prod.read_text().replace("namespace: default", "namespace: gemma-prod"))
    return base


def render(project: Path) -> None:
    result = CliRunner().invoke(cli, ["--root", str(project), "render"], catch_exceptions=False)
    assert result.exit_code == 0, result.output


def age(project: Path) -> None:
    """Make the rendered docs and schema copy those of an older tool, so a render changes every output directory
    (they follow the tool, not the values)."""
    docs = project / "docs/values.md"
    docs.write_text(docs.read_text() + "| `from` | an | older | tool | version |\n")
    schema = project / "schemas/values.schema.json"
    data = json.loads(schema.read_text())
    data["properties"]["replicas"]["description"] += " (an older tool's)"
    schema.write_text(json.dumps(data, indent=2) + "\n")


@pytest.fixture(scope="module")
def trees(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, bytes], dict[str, bytes]]:
    """The old and the new outputs, each rendered whole in its own project."""
    old, new = (make_project(tmp_path_factory.mktemp("trees") / name, name == "new") for name in ("old", "new"))
    render(old)
    age(old)
    render(new)
    return outputs(old), outputs(new)


def killed_render(project: Path, operation: str, after: int) -> int:
    """A render of `project` that kills itself after the `after`th os.<operation>; its exit code."""
    environ = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run([sys.executable, "-c", KILLER, operation, str(after), "--root", str(project), "render"],
                            capture_output=True, env=environ, check=False, timeout=120)
    return result.returncode


def prepared(tmp_path: Path) -> Path:
    """A project rendered with the old values, then changed to the new ones on disk (not yet rendered)."""
    project = make_project(tmp_path / "project", new=False)
    render(project)
    age(project)
    changed = make_project(tmp_path / "changed", new=True)
    shutil.copy(changed / "values/prod.yaml", project / "values/prod.yaml")
    return project


@pytest.mark.parametrize("after", range(1, len(RENAMES) + 1), ids=lambda n: f"after-{RENAMES[n - 1].replace(' ', '-')}")
def test_a_kill_between_swaps_is_completed_by_the_next_command(tmp_path: Path, trees: tuple[dict[str, bytes], dict[str, bytes]],
                                                               after: int) -> None:
    old, new = trees
    project = prepared(tmp_path)
    assert killed_render(project, "rename", after) == -9
    assert (project / tree.JOURNAL).is_file()  # a half-applied state is always recorded
    left = outputs(project)
    if RENAMES[after - 1] == "rendered in":  # the review's case: rendered/ new, argocd/ still old
        assert left["rendered/prod/service-gemma.yaml"] == new["rendered/prod/service-gemma.yaml"]
        assert left["argocd/prod.yaml"] == old["argocd/prod.yaml"]
    check = CliRunner().invoke(cli, ["--root", str(project), "check"], catch_exceptions=False)
    assert check.exit_code == 0, check.output
    assert outputs(project) == new
    assert tree.leftovers(project) == [] and not (project / tree.JOURNAL).exists()


def test_a_kill_after_the_journal_is_removed_leaves_the_new_tree(tmp_path: Path, trees: tuple[dict[str, bytes], dict[str, bytes]]) -> None:
    _, new = trees
    project = prepared(tmp_path)
    assert killed_render(project, "unlink", 1) == -9
    assert not (project / tree.JOURNAL).exists()
    assert outputs(project) == new  # already complete; only the old directories are left over
    assert tree.leftovers(project)
    assert CliRunner().invoke(cli, ["--root", str(project), "check"], catch_exceptions=False).exit_code == 0
    assert tree.leftovers(project) == []


def test_a_kill_while_staging_leaves_the_old_tree(tmp_path: Path, trees: tuple[dict[str, bytes], dict[str, bytes]]) -> None:
    old, _ = trees
    project = prepared(tmp_path)
    assert killed_render(project, "fsync", 3) == -9  # among the staged files' flushes, before any journal
    assert not (project / tree.JOURNAL).exists()
    assert outputs(project) == old
    assert tree.leftovers(project)  # the staging directories of the dead run
    check = CliRunner().invoke(cli, ["--root", str(project), "check"], catch_exceptions=False)
    assert check.exit_code == 1 and "out of date" in check.output
    assert tree.leftovers(project) == []


def test_a_damaged_journal_stops_every_command(tmp_path: Path) -> None:
    project = prepared(tmp_path)
    (project / tree.JOURNAL).write_text('{"format": "gemma-gitops-journal/1", "swaps": [{"target": "/etc", '
                                        '"staged": "x", "previous": "y", "existed": true}]}\n')
    for command in ("render", "check", "budget"):
        result = CliRunner().invoke(cli, ["--root", str(project), command], catch_exceptions=False)
        assert result.exit_code == 1
        assert result.output.splitlines()[-1].startswith(f"error: {tree.JOURNAL} is damaged or not ours, so an interrupted "
                                                         "write cannot be completed (unexpected contents)")


def test_readers_that_find_a_journal_together_complete_it_once(tmp_path: Path, trees: tuple[dict[str, bytes], dict[str, bytes]]) -> None:
    _, new = trees
    project = prepared(tmp_path)
    assert killed_render(project, "rename", 3) == -9
    environ = {**os.environ, "PYTHONPATH": str(REPO)}
    readers = [subprocess.Popen([sys.executable, "-m", "generator", "--root", str(project), "check"], env=environ,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(4)]
    for reader in readers:
        _, stderr = reader.communicate(timeout=120)
        assert reader.returncode == 0, stderr  # each saw the completed write, none a half one
    assert outputs(project) == new
    assert tree.leftovers(project) == [] and not (project / tree.JOURNAL).exists()
