"""Helpers for the hostile-input tests: real processes on a throwaway project, and what the project holds."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from generator import tree
from tests.conftest import REPO

VALID_TAIL = "argocd:\n  repoURL: https://github.com/example/gemma-gitops.git\n"


def gemma(project: Path, *args: str, env: dict[str, str] | None = None, prefix: Sequence[str] = (),
          timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the CLI in its own process, as a user would: `python -m generator --root PROJECT ARGS`."""
    environ = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    return subprocess.run([*prefix, sys.executable, "-m", "generator", "--root", str(project), *args],
                          capture_output=True, text=True, env=environ, timeout=timeout, check=False)


def append_prod(project: Path, snippet: str) -> None:
    """Add top-level keys to values/prod.yaml (keys it does not set yet)."""
    prod = project / "values/prod.yaml"
    prod.write_text(prod.read_text() + snippet)


def outputs(root: Path) -> dict[str, bytes]:
    """Every file under rendered/, argocd/ and docs/ (regular or not), by relative path."""
    return {p.relative_to(root).as_posix(): p.read_bytes() if p.is_file() and not p.is_symlink() else b"(not a file)"
            for top in tree.OWNED_DIRS if (root / top).is_dir() and not (root / top).is_symlink()
            for p in sorted((root / top).rglob("*")) if not p.is_dir() or p.is_symlink()}


def state(project: Path) -> tuple[dict[str, bytes], list[str]]:
    """Every output file, and what else lies in the project root (lock file aside): compared before and after."""
    others = sorted(n for n in os.listdir(project) if n not in ("values", "schemas", tree.lock.LOCK_FILE, *tree.OWNED_DIRS))
    return outputs(project), others


def no_traceback(output: str) -> bool:
    """Whether output is free of any Python traceback."""
    return "Traceback" not in output and 'File "' not in output


@pytest.fixture
def shared_project() -> Iterator[Path]:
    """A project every user may write (tmp_path is root's alone), for runs bound by file modes."""
    base = Path(tempfile.mkdtemp(prefix="gemma-gitops-hostile-"))
    os.chmod(base, 0o777)
    try:
        shutil.copytree(REPO / "schemas", base / "schemas")
        shutil.copytree(REPO / "values", base / "values")
        yield base
    finally:
        shutil.rmtree(base)


def bound_by_modes() -> tuple[str, ...]:
    """The command prefix that runs a process as root without any capability, for real permission errors
    (root ignores file modes only through CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH; capabilities(7)).

    Not as another user: the clone, its venv and the package may sit under a directory only root can
    enter (a clone in `mktemp -d`, mode 0700), where `nobody` could not even import the package. The
    bounding set is emptied too, or the exec of a program as uid 0 would give the capabilities back."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to run a process without privileges")
    return ("setpriv", "--inh-caps=-all", "--ambient-caps=-all", "--bounding-set=-all")


def in_mount_namespace(script: str) -> tuple[str, ...]:
    """The command prefix that runs `script` (mounts) in a private mount namespace, then the command ("$@")."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("needs root and unshare for a read-only or full filesystem")
    probe = subprocess.run(["unshare", "-m", "true"], capture_output=True, check=False)
    if probe.returncode != 0:
        pytest.skip(f"unshare -m is not permitted here: {probe.stderr.decode().strip()}")
    return ("unshare", "-m", "sh", "-c", f'{script} && exec "$@"', "sh")
