"""`init`: start a deployment repository from the scaffold, or show (and write) what this version changes in one.

In a directory that is not a project yet, `init` writes the scaffold (generator/scaffold.py) and
renders it, so the result passes `check` and `validate` at once. It refuses a non-empty directory
unless forced, and even then only adds the files that are missing: a file that exists is never
replaced. The seed values are checked in memory first (schema, plan, guards), so bad answers write
nothing.

In a project (its gemma-gitops.toml exists), `init` is the upgrade path: it shows what this version
of the tool would change in the managed files, and what a render with it would change in the
rendered ones, and exits 1 when anything would change; `init --upgrade` writes the managed files and
renders.
"""

from __future__ import annotations

import difflib
import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from . import tree
from .errors import EXIT_FAILED, EXIT_OK, GeneratorError, ValuesError
from .pipeline.plans import guarded
from .pipeline.render import render_all, run_render
from .plan import build_plan
from .scaffold import MANAGED_MARK, Answers, Rendered, all_files, is_managed, managed_files
from .settings import MARKER, PACKAGED_SCHEMA, VALUES_DIR, Settings
from .values import Layer, merge_layers, parse_layer, schema_defaults
from .version import tool_version

Echo = Callable[[str], None]
IGNORED_ENTRIES = (".git",)  # a fresh `git init` leaves the directory as good as empty


@dataclass(frozen=True)
class InitOptions:
    """What `init` was asked: where, the team's answers (new projects only), and whether to force or upgrade."""

    directory: Path
    answers: Answers
    force: bool = False  # a new project in a non-empty directory: add what is missing, keep the rest
    upgrade: bool = False  # an existing project: write what this version changes
    answered: bool = False  # whether any answer was given, rather than defaulted


@dataclass(frozen=True)
class Change:
    """What an upgrade would do to one managed file."""

    file: Rendered
    status: str  # "add", "change", "yours" (its mark deleted: the team's now), "same"
    current: bytes = b""


def run_init(options: InitOptions, echo: Echo, warn: Echo) -> int:
    """A new project, or the upgrade of an existing one; see the module's docstring."""
    directory = options.directory.resolve()
    if directory.exists() and not directory.is_dir():
        raise GeneratorError(f"{directory}: not a directory")
    if (directory / MARKER).is_file():
        return upgrade(directory, options, echo, warn)
    if options.upgrade:
        raise GeneratorError(f"{directory}: not a gemma-gitops project (no {MARKER}); `gemma-gitops init` starts one")
    return create(directory, options.answers, options.force, echo, warn)


# -- a new project -----------------------------------------------------------------------------


def create(directory: Path, answers: Answers, force: bool, echo: Echo, warn: Echo) -> int:
    """Write the scaffold's files that are missing, then render."""
    entries = existing_entries(directory)
    if entries and not force:
        shown = ", ".join(entries[:5]) + (", ..." if len(entries) > 5 else "")
        raise GeneratorError(f"{directory} is not empty ({shown}): init starts a project in an empty directory; "
                             "pass --force to add the files it lacks and keep every file already there")
    files = all_files(answers, tool_version())
    check_seed(answers, files)
    targets = {file.path: inside(directory, file.path) for file in files}
    blocked = [path for path, target in targets.items() if _blocked(directory, target)]
    if blocked:
        raise GeneratorError(f"{directory}: nothing written: a file stands where {', '.join(blocked)} needs a directory")
    written, kept = [], []
    for file in files:
        target = targets[file.path]
        if target.exists() or target.is_symlink():
            kept.append(file.path)
            continue
        write_file(target, file.data, replace=False)
        written.append(file.path)
    echo(f"created {directory}: {', '.join(written)}")
    for path in kept:
        warn(f"kept {path}: it exists, and init never replaces a file (compare it with a fresh `init` elsewhere)")
    run_render(Settings(root=directory), echo, warn)
    echo(f"check before the first commit: hostname {answers.hostname}, namespace {answers.namespace}, "
         f"argocd.repoURL {answers.repo_url} (values/{answers.env}.yaml); then `git init` if needed, commit, "
         f"and bootstrap with `kubectl apply -f argocd/{answers.env}.yaml`")
    return EXIT_OK


def existing_entries(directory: Path) -> list[str]:
    """What the directory holds besides what a fresh repository has (sorted; empty when it does not exist)."""
    if not directory.is_dir():
        return []
    return sorted(p.name for p in directory.iterdir() if p.name not in IGNORED_ENTRIES)


def _blocked(root: Path, target: Path) -> bool:
    """Whether something that is not a directory stands where one of the target's directories must be."""
    return any(parent.exists() and not parent.is_dir() for parent in target.parents if parent.is_relative_to(root))


def check_seed(answers: Answers, files: tuple[Rendered, ...]) -> None:
    """Validate the seed values in memory, plan them and run the guards: bad answers write nothing."""
    file = f"{VALUES_DIR}/{answers.env}.yaml"
    text = next(f.data for f in files if f.path == file).decode("utf-8")
    schema = json.loads(PACKAGED_SCHEMA.read_text(encoding="utf-8"))
    layers = [Layer("(schema defaults)", schema_defaults(schema) or {}), parse_layer(text, file)]
    try:
        values = merge_layers(answers.env, file, layers, schema)
    except ValuesError as err:
        raise ValuesError(f"init: nothing written: the answers make invalid values: {err.message}", err.problems) from err
    guarded((build_plan(values),))


def inside(root: Path, rel: str) -> Path:
    """`root/rel`, refusing a path that leads outside `root` (through `..` or a symlinked directory)."""
    target = root / rel
    if not target.parent.resolve().is_relative_to(root.resolve()) or ".." in Path(rel).parts:
        raise GeneratorError(f"refusing to write {rel}: it leads outside {root}")
    return target


def write_file(path: Path, data: bytes, replace: bool) -> None:
    """Write `data` beside `path`, flush it, then move it into place: a rename when replacing, else a
    hard link, which fails if a file appeared there meanwhile, so a new file never replaces one."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as err:
        raise GeneratorError(f"{path}: cannot write: {err.strerror}") from err
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temp, 0o644)  # mkstemp's 0600 suits secrets; these are ordinary repository files
        if replace:
            os.replace(temp, path)
        else:
            os.link(temp, path)
    except FileExistsError as err:
        raise GeneratorError(f"{path}: appeared while init was writing; it was left as it is") from err
    except OSError as err:
        raise GeneratorError(f"{path}: cannot write: {err.strerror}") from err
    finally:
        if os.path.exists(temp):
            os.unlink(temp)


# -- an existing project: the upgrade ----------------------------------------------------------


def upgrade(directory: Path, options: InitOptions, echo: Echo, warn: Echo) -> int:
    """Show what this version changes in the project (exit 1 when anything), or write it with --upgrade."""
    if options.answered:
        raise GeneratorError(f"{directory} is a project already: answers (--hostname, --model, ...) only shape a new "
                             f"project's values; change values/ instead")
    if options.force:
        raise GeneratorError(f"{directory} is a project already: --force is for a directory that is not one; "
                             "`gemma-gitops init --upgrade` writes what this version changes")
    changes = [c for c in plan_upgrade(directory) if c.status != "same"]
    if options.upgrade:
        return write_upgrade(directory, changes, echo, warn)
    for change in changes:
        echo(describe(change))
    pending = [c for c in changes if c.status in ("add", "change")] + rendered_drift(directory, echo)
    version = tool_version()
    if not pending:
        echo(f"up to date with gemma-gitops {version}")
        return EXIT_OK
    echo(f"gemma-gitops {version} would change {len(pending)} file(s); `gemma-gitops init --upgrade` writes them")
    return EXIT_FAILED


def plan_upgrade(directory: Path) -> list[Change]:
    """Each managed file of this version against the project's copy."""
    changes = []
    for file in managed_files(tool_version()):
        path = inside(directory, file.path)
        current = path.read_bytes() if path.is_file() else None
        if current is None:
            changes.append(Change(file, "add"))
        elif current == file.data:
            changes.append(Change(file, "same", current))
        else:
            changes.append(Change(file, "change" if is_managed(current) else "yours", current))
    return changes


def describe(change: Change) -> str:
    """A change as the dry run prints it: a unified diff, or one line."""
    path = change.file.path
    if change.status == "add":
        return f"+ {path} (new)"
    if change.status == "yours":
        return f"  {path}: yours (its first line no longer says {MANAGED_MARK!r}), left alone"
    before = change.current.decode("utf-8", "replace").splitlines(keepends=True)
    after = change.file.data.decode("utf-8").splitlines(keepends=True)
    return "".join(difflib.unified_diff(before, after, f"a/{path}", f"b/{path}")).rstrip("\n")


def rendered_drift(directory: Path, echo: Echo) -> list[str]:
    """The generated files a render with this version would change, in one line (or why it cannot render)."""
    try:
        rendered = render_all(Settings(root=directory))
    except GeneratorError as err:
        echo(f"rendering with this version fails; fix values/ before upgrading: {err.message}")
        for problem in err.problems:
            echo(f"  {problem}")
        return ["(render)"]
    drift = tree.compare(rendered.tree, tree.owned_on_disk(directory, rendered.scopes))
    files = [*drift.added, *drift.changed, *drift.removed]
    if files:
        echo(f"rendered files a render would change: {', '.join(files)} (`gemma-gitops check` shows how)")
    return files


def write_upgrade(directory: Path, changes: list[Change], echo: Echo, warn: Echo) -> int:
    """Write the managed files that changed, then render with this version."""
    for change in changes:
        if change.status == "yours":
            warn(describe(change).strip())
            continue
        write_file(inside(directory, change.file.path), change.file.data, replace=change.status == "change")
        echo(f"{'added' if change.status == 'add' else 'updated'} {change.file.path}")
    run_render(Settings(root=directory), echo, warn)
    echo(f"upgraded to gemma-gitops {tool_version()}: review `git diff`, then commit")
    return EXIT_OK

