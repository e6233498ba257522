"""The project: its root, found the way git finds a repository, and its marker file.

A project is the directory holding `gemma-gitops.toml` and `values/`. Commands walk up from the
working directory to the first directory that holds both, so they work from any subdirectory
(`rendered/prod/`, `values/`); `--root` names the root instead and skips the walk.

Why a marker file, and why this one: `values/` alone is too common to stop at (every Helm chart has
values files; this repository's tests/e2e/values is one). A file whose name says what the directory
is tells a person, the walk and Argo CD's plugin discovery (`discover.fileName`) the same thing, as
Chart.yaml does for Helm and kustomization.yaml for Kustomize. TOML, because Python reads it
without a dependency. It records the one thing a project pins: the gemma-gitops version it is
rendered with (`init` writes it; CI installs that version).
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .errors import GeneratorError
from .settings import MARKER, VALUES_DIR

MARKER_KEYS = ("version",)


class ProjectError(GeneratorError):
    """No project where one was looked for, or a marker file that cannot be read."""


@dataclass(frozen=True)
class Marker:
    """What gemma-gitops.toml says: the version the project pins (None: not pinned, as in the tool's own repository)."""

    version: str | None = None


def is_root(directory: Path) -> bool:
    """Whether `directory` holds the marker and values/."""
    return (directory / MARKER).is_file() and (directory / VALUES_DIR).is_dir()


def find_root(start: Path) -> Path:
    """The nearest directory at or above `start` that is a project root."""
    start = start.resolve()
    for directory in (start, *start.parents):
        if is_root(directory):
            return directory
    raise ProjectError(f"not in a gemma-gitops project: no {MARKER} beside a {VALUES_DIR}/ directory in {start} "
                       "or any directory above it (start one with `gemma-gitops init`, or pass --root)")


def read_marker(root: Path) -> Marker:
    """The marker of the project at `root`; an absent file says nothing, a bad one is an error."""
    path = root / MARKER
    if not path.is_file():
        return Marker()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise ProjectError(f"{MARKER}: cannot read: {err}") from err
    unknown = sorted(set(data) - set(MARKER_KEYS))
    if unknown:
        raise ProjectError(f"{MARKER}: unknown key {', '.join(map(repr, unknown))} (known: {', '.join(MARKER_KEYS)})")
    version = data.get("version")
    if version is not None and not isinstance(version, str):
        raise ProjectError(f"{MARKER}: version must be a string such as \"0.1.0\", not {version!r}")
    return Marker(version)


def pin_warning(root: Path, running: Callable[[], str]) -> str | None:
    """A warning when the project pins another gemma-gitops version than the one running, else None
    (the running version is asked for only when there is a pin: reading it costs an import)."""
    pinned = read_marker(root).version
    if pinned is None or pinned == running():
        return None
    running_version = running()
    return (f"warning: {MARKER} pins gemma-gitops {pinned}, this is {running_version}: its output may differ from "
            f"what CI renders (`gemma-gitops init` shows what moving the project to {running_version} changes)")
