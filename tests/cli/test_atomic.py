"""An error or a kill in the middle of a render leaves the previous rendered/ intact."""

from __future__ import annotations

import os
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
    real_write = Path.write_bytes

    def failing_write(self: Path, data: bytes) -> int:
        calls["n"] += 1
        if calls["n"] == 5:
            raise OSError(28, "No space left on device")
        return real_write(self, data)

    monkeypatch.setattr(Path, "write_bytes", failing_write)
    with pytest.raises(OSError):
        run("render")
    monkeypatch.undo()
    assert snapshot(project) == before
    assert run("render").exit_code == 0  # and the next run cleans up after it
    assert not (project / ".rendered.staging").exists()
    assert "'8192'" in (project / "rendered/prod/deployment-gemma.yaml").read_text()


def test_a_run_killed_between_the_two_renames_is_recovered(run: Run, project: Path) -> None:
    run("render")
    before = snapshot(project)
    # The state a kill leaves after `rendered` was moved aside and before staging took its place.
    os.rename(project / "rendered", project / ".rendered.previous")
    (project / ".rendered.staging").mkdir()
    tree.recover(project)
    assert snapshot(project) == before
    assert not (project / ".rendered.previous").exists() and not (project / ".rendered.staging").exists()


def test_sigkill_mid_render_never_leaves_a_half_written_tree(run: Run, project: Path) -> None:
    """Kill real render processes at many points in time; every survivor tree is the old or the new one."""
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
        tree.recover(project)
        now = snapshot(project)
        if now != old:
            outcomes.add("new")
            assert run("check").exit_code == 0  # a finished render, never a mix
            run_back = prod.read_text()
            prod.write_text(run_back.replace("contextSize: 8192", "contextSize: 4096"))
            run("render")
            prod.write_text(run_back)
        else:
            outcomes.add("old")
    assert "old" in outcomes
