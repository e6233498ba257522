"""Gitref: the base side of a diff. Resolve a git ref, export its tree, render it with its own generator.

The base is rendered by the base's own `generator` package and templates, in a subprocess, so a
change to a template shows up as a change; a base without one (a deployment repository that installs
the tool) is rendered by the running tool. Committed `rendered/` and `argocd/` files of the base
are deleted before that render: the diff never trusts them.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import tree
from ..errors import GeneratorError
from ..settings import ARGOCD_DIR, RENDERED_DIR, VALUES_DIR, Settings
from ..valuefiles import environment_names

MAIN_BRANCHES = ("main", "origin/main")  # the default base is the merge base with the first that exists


class GitError(GeneratorError):
    """git is missing, the root is not in a repository, or a ref does not name a commit."""


class BaseRenderError(GeneratorError):
    """The base could not be rendered; carries the base generator's own output."""

    def __init__(self, message: str, output: str = "") -> None:
        super().__init__(message)
        self.output = output

    def lines(self) -> list[str]:
        return [self.message, *(f"  {line}" for line in self.output.rstrip("\n").splitlines())]


@dataclass(frozen=True)
class Base:
    """The commit the working tree is compared with, and why that one."""

    commit: str
    short: str
    reason: str  # `merge base of HEAD and main`, `--base origin/main`


@dataclass(frozen=True)
class BaseTree:
    """The base's rendered files (of the requested environments), and every environment it defines."""

    files: tree.Tree
    environments: tuple[str, ...]


# -- git ---------------------------------------------------------------------------------------


def git(root: Path, *args: str, text: bool = True) -> subprocess.CompletedProcess[Any]:
    """Run git in `root`, capturing its output; a missing git binary is a user-facing error."""
    try:
        return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=text, check=False)
    except FileNotFoundError as err:
        raise GitError("git is not installed: `diff` renders a git ref to compare with") from err


def _output(root: Path, *args: str) -> str | None:
    """git's stdout, stripped, or None when git fails."""
    result = git(root, *args)
    return result.stdout.strip() if result.returncode == 0 else None


def repository_prefix(root: Path) -> str:
    """Where `root` sits inside its repository (`""` at the top); an error when it is in none."""
    prefix = _output(root, "rev-parse", "--show-prefix")
    if prefix is None:
        raise GitError(f"not a git repository: {root} (`diff` compares with a git ref; run it in a clone, "
                       "or pass --root)")
    return prefix.rstrip("/")


def resolve(root: Path, ref: str | None) -> Base:
    """The commit named by `ref`, or the default base when no ref is given."""
    if ref is None:
        return default_base(root)
    commit = None if ref.startswith("-") else _output(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    if commit is None:
        raise GitError(f"unknown git ref {ref!r}: no commit by that name in {root} "
                       "(pass a branch, tag or commit, such as origin/main; in CI, fetch with fetch-depth: 0)")
    return Base(commit, _short(root, commit), f"--base {ref}")


def default_base(root: Path) -> Base:
    """The merge base of HEAD with main (or origin/main); HEAD itself when neither exists."""
    for branch in MAIN_BRANCHES:
        commit = _output(root, "merge-base", "HEAD", branch)
        if commit:
            return Base(commit, _short(root, commit), f"merge base of HEAD and {branch}")
    head = _output(root, "rev-parse", "--verify", "--quiet", "HEAD^{commit}")
    if head is None:
        raise GitError(f"no commit to compare with in {root}: HEAD has none yet (commit, or pass --base REF)")
    return Base(head, _short(root, head), f"HEAD; no {' or '.join(MAIN_BRANCHES)} branch")


def _short(root: Path, commit: str) -> str:
    return _output(root, "rev-parse", "--short", commit) or commit[:12]


def export(root: Path, base: Base, prefix: str, dest: Path) -> bool:
    """Extract the base's tree (at `prefix`, the project's place in the repository) into `dest`.

    False when the base has no such directory: the project did not exist yet.
    """
    tree_id = _output(root, "rev-parse", "--verify", "--quiet", f"{base.commit}:{prefix}")
    if tree_id is None or _output(root, "cat-file", "-t", tree_id) != "tree":
        return False
    # From the top: run in a subdirectory, git archive refuses or narrows to that subdirectory.
    top = Path(_output(root, "rev-parse", "--show-toplevel") or root)
    result = git(top, "archive", "--format=tar", tree_id, text=False)
    if result.returncode != 0:
        raise GitError(f"git archive {base.short} failed: {result.stderr.decode(errors='replace').strip()}")
    try:
        with tarfile.open(fileobj=io.BytesIO(result.stdout)) as archive:
            archive.extractall(dest, filter="data")  # refuses absolute paths and links out of `dest`
    except tarfile.TarError as err:
        raise GitError(f"cannot unpack base {base.short}: {err}") from err
    return True


# -- the base's own render ---------------------------------------------------------------------


def base_environments(project: Path) -> tuple[str, ...]:
    """The environments an exported project defines (none when it has no values/ directory)."""
    settings = Settings(root=project)
    return tuple(environment_names(settings)) if (project / VALUES_DIR).is_dir() else ()


def render_base(project: Path, envs: Sequence[str], base: Base) -> tree.Tree:
    """Render `envs` of an exported project with its own generator, or with this one when the project
    carries none (a deployment repository started by `init`); its rendered files, by path."""
    for committed in (RENDERED_DIR, ARGOCD_DIR):
        shutil.rmtree(project / committed, ignore_errors=True)
    command = [sys.executable, "-m", "generator", "--root", str(project), "render", *envs]
    environ = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    if (project / "generator" / "__main__.py").is_file():
        # PYTHONPATH and the working directory both point at the export, so `generator` is the base's
        # package, never the installed one of the working tree.
        environ["PYTHONPATH"] = str(project)
        workdir = project
    else:
        # The installed generator renders both sides: the diff shows what the values change. Run from
        # the export's parent, which holds nothing importable, so `-m generator` is the installed one.
        workdir = project.parent
    result = subprocess.run(command, cwd=workdir, env=environ, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BaseRenderError(f"base {base.short}: its render failed (exit {result.returncode}); "
                              "its generator said:", result.stderr or result.stdout)
    return tree.owned_on_disk(project, (RENDERED_DIR, ARGOCD_DIR))


def base_tree(root: Path, base: Base, envs: Sequence[str], workdir: Path) -> BaseTree:
    """Export the base into `workdir` and render the requested environments it has (all by default)."""
    project = workdir / "base"
    project.mkdir()
    if not export(root, base, repository_prefix(root), project):
        return BaseTree({}, ())
    names = base_environments(project)
    wanted = tuple(name for name in names if not envs or name in envs)
    return BaseTree(render_base(project, wanted, base) if wanted else {}, names)
