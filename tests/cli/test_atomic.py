"""An error or a kill in the middle of a render leaves the previous tree, or (after recovery) the new one: never a mix."""

from __future__ import annotations

import errno
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from generator import tree
from tests.conftest import Run, snapshot


def test_a_failure_while_staging_leaves_the_previous_tree(run: Run, project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run("render")
    before = snapshot(project)
    prod = project / "values/prod.yaml"
    prod.write_text(prod.read_text().replace("contextSize: 4096", "contextSize: 8192"))
    calls = {"n": 0}
    real_write = tree.write_new

    def failing_write(base: Path, parts: tuple[str, ...], data: bytes) -> None:
        calls["n"] += 1
        if calls["n"] == 5:
            raise OSError(errno.ENOSPC, "No space left on device", str(base / "/".join(parts)))
        real_write(base, parts, data)

    monkeypatch.setattr(tree, "write_new", failing_write)
    result = run("render")
    monkeypatch.undo()
    assert result.exit_code == 1
    assert result.output.splitlines()[-1] == ("error: cannot stage the new files (externalsecret-gemma-api-key.yaml: No space left on "
                                              "device); nothing was changed")
    assert snapshot(project) == before
    assert tree.leftovers(project) == [] and not (project / tree.JOURNAL).exists()
    assert run("render").exit_code == 0
    assert "'8192'" in (project / "rendered/prod/deployment-gemma.yaml").read_text()


def test_sigkill_mid_render_never_leaves_a_half_written_tree(run: Run, project: Path) -> None:
    """Kill real render processes at many points in time; after the next command's recovery every tree is
    the old or the new one."""
    run("render")
    old = snapshot(project)
    prod = project / "values/prod.yaml"
    prod.write_text(prod.read_text().replace("contextSize: 4096", "contextSize: 8192"))
    outcomes = set()
    for delay in (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.6):
        proc = subprocess.Popen([sys.executable, "-m", "generator", "--root", str(project), "render"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        result = run("check")  # completes an interrupted write before it compares
        assert tree.leftovers(project) == [] and not (project / tree.JOURNAL).exists()
        if snapshot(project) != old:
            outcomes.add("new")
            assert result.exit_code == 0  # a finished render, never a mix
            text = prod.read_text()
            prod.write_text(text.replace("contextSize: 8192", "contextSize: 4096"))
            run("render")
            prod.write_text(text)
        else:
            outcomes.add("old")
            assert result.exit_code == 1
    assert "old" in outcomes
