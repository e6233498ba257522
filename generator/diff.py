"""The diff command: what a change to values or templates does to the deployment, against a git ref.

Both sides are rendered: the working tree in this process, the base by its own generator in a
subprocess (see diffing/gitref.py). The rendered resources are compared field by field
(diffing/resources.py, diffing/fields.py) and reported as text or Markdown (diffing/report.py).
`diff` informs and always exits 0 when it could compare; `check` is the gate.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from .diffing.gitref import Base, BaseTree, base_tree, repository_prefix, resolve
from .diffing.report import FORMATS, Report
from .diffing.resources import Resources, collect, diff_environments
from .errors import EXIT_OK
from .pipeline import session
from .pipeline.render import render_all
from .settings import Settings

Echo = Callable[[str], None]


@dataclass(frozen=True)
class DiffOptions:
    """What the diff command was asked: the project and environments, the base ref, the output format."""

    settings: Settings
    base_ref: str | None = None  # None: the merge base with main
    output: str = "text"


def run_diff(options: DiffOptions, echo: Echo) -> int:
    """Render the base and the working tree, compare their resources, print the report; exit 0."""
    root = options.settings.root
    repository_prefix(root)  # outside a repository, say so before rendering anything
    base = resolve(root, options.base_ref)
    with session(options.settings, "diff"):
        working = render_all(options.settings).tree
    with tempfile.TemporaryDirectory(prefix="gemma-gitops-diff-") as workdir:
        based = base_tree(root, base, options.settings.envs, Path(workdir))
    before, after = collect(based.files, f"base {base.short}"), collect(working, "the working tree")
    report = Report(base.short, base.reason, notes(base, based, before, after), diff_environments(before, after))
    echo(FORMATS[options.output](report))
    return EXIT_OK


def notes(base: Base, based: BaseTree, before: Mapping[str, Resources],
          after: Mapping[str, Resources]) -> tuple[str, ...]:
    """What a reader should know before the resources: a base without environments, new or removed ones."""
    if not based.environments:
        return (f"base {base.short}: no environments; every resource shows as added",)
    new = [f"environment {env} is new: base {base.short} does not have it" for env in sorted(set(after) - set(before))]
    gone = [f"environment {env} is removed: only base {base.short} has it" for env in sorted(set(before) - set(after))]
    return (*new, *gone)
