"""Where a command's time goes: cProfile of the whole process, grouped by library.

Also counts the work that should happen once per process whatever the number of environments
(reading the values schema, compiling templates and schema validators), so a regression that
makes it per-environment shows as a count that grows with N.
"""

from __future__ import annotations

import pstats
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.commands import COMMANDS, RUN_TIMEOUT_SECONDS, BenchError, child_environment
from bench.project import REPO, clear_outputs, synthetic_project

# (label, test on a profile entry's file and function name): the first match wins; the rest is "other".
GROUPS: tuple[tuple[str, Callable[[str, str], bool]], ...] = (
    ("PyYAML", lambda f, _: "/yaml/" in f),
    ("jsonschema + referencing", lambda f, _: any(p in f for p in ("/jsonschema/", "/referencing/", "/rpds/"))),
    ("jsonschema-rs", lambda f, fn: "jsonschema_rs" in f or "jsonschema_rs" in fn),
    ("CEL (cel-expr-python)", lambda f, fn: "cel_expr_python" in f or "cel_expr_python" in fn),
    ("Jinja2 (+ MarkupSafe)", lambda f, _: "/jinja2/" in f or "/markupsafe/" in f),
    ("gemma-gitops: canonical YAML (yamlemit)", lambda f, _: f.endswith("generator/yamlemit.py")),
    ("gemma-gitops (generator/)", lambda f, _: "/generator/" in f),
    ("imports", lambda f, _: f.startswith("<frozen")),
    ("C built-ins (I/O, json, re, ...)", lambda f, _: f == "~"),
)
# Work that must not grow with the number of environments: (label, file suffix, function).
ONCE: tuple[tuple[str, str, str], ...] = (
    ("values schema read (load_schema)", "generator/values.py", "load_schema"),
    ("Jinja2 template compiled", "jinja2/environment.py", "_parse"),
    ("Kubernetes schema compiled (bundled)", "generator/kube/registry.py", "compile_bundled_schema"),
    ("CRD schema compiled (schema location)", "generator/kube/registry.py", "compile_location_schema"),
    ("schema checked against its metaschema (0 once recorded)", "jsonschema/validators.py", "check_schema"),
    ("CEL expression compiled", "generator/kube/cel/engine.py", "compile_expression"),
    ("_definitions.json parsed whole (0 once its closures are cached)", "generator/kubeschemas.py", "definitions_document"),
    ("document explained by jsonschema (invalid ones only)", "generator/jsonschemas.py", "_exact_errors"),
)


@dataclass(frozen=True)
class Profile:
    """One profiled command: seconds by group, the top functions by own time, call counts of ONCE."""

    command: str
    envs: int
    total: float
    groups: tuple[tuple[str, float], ...]
    top: tuple[tuple[str, int, float], ...]  # (function, calls, own seconds)
    once: tuple[tuple[str, int], ...]


def group_of(filename: str, function: str = "") -> str:
    """The library a profiled function belongs to."""
    return next((label for label, test in GROUPS if test(filename, function)), "other")


def summarize_stats(stats: pstats.Stats, command: str, envs: int, top: int = 8) -> Profile:
    """Own time per group and per function, and how often the once-only work ran."""
    entries = stats.stats  # type: ignore[attr-defined]  # {(file, line, func): (cc, nc, tt, ct, callers)}
    groups: dict[str, float] = {}
    for (filename, _, function), (_, _, own, _, _) in entries.items():
        group = group_of(filename, function)
        groups[group] = groups.get(group, 0.0) + own
    total = sum(groups.values())
    ranked = sorted(entries.items(), key=lambda item: item[1][2], reverse=True)[:top]
    functions = tuple((_label(key), calls, own) for key, (_, calls, own, _, _) in ranked)
    once = tuple((label, sum(v[1] for (f, _, fn), v in entries.items() if f.endswith(suffix) and fn == func))
                 for label, suffix, func in ONCE)
    return Profile(command, envs, total, tuple(sorted(groups.items(), key=lambda g: -g[1])), functions, once)


def _label(key: tuple[str, int, str]) -> str:
    """`yaml/scanner.py:113 check_token`, or `{built-in ...}` for C functions."""
    filename, line, func = key
    if filename == "~":
        return func
    parts = Path(filename).parts
    return f"{'/'.join(parts[-2:])}:{line} {func}"


def profile_command(root: Path, command: str, env: dict[str, str], out: Path) -> pstats.Stats:
    """cProfile one command in its own process (imports included), outputs cleared for render."""
    if command == "render":
        clear_outputs(root)
    argv = [sys.executable, "-m", "cProfile", "-o", str(out), "-m", "generator", "--root", str(root),
            *COMMANDS[command]]
    done = subprocess.run(argv, cwd=root, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, timeout=RUN_TIMEOUT_SECONDS * 4, check=False)
    if done.returncode != 0:
        raise BenchError(f"profiling {command} failed: {done.stderr.decode(errors='replace')[-500:]}")
    return pstats.Stats(str(out))


def run_profiles(sizes: tuple[int, ...], progress: Callable[[str], None], code: Path = REPO) -> list[Profile]:
    """Profile every command on synthetic projects of each size; `code` is the checkout profiled."""
    scratch = Path(tempfile.mkdtemp(prefix="gemma-bench-profile-"))
    profiles: list[Profile] = []
    try:
        env = child_environment(scratch, code)
        for envs in sizes:
            progress(f"profile: {', '.join(COMMANDS)} on {envs} synthetic environment(s)")
            root = synthetic_project(scratch / f"p{envs}", envs)
            for command in COMMANDS:  # render first: check and validate need its tree
                stats = profile_command(root, command, env, scratch / f"{command}-{envs}.prof")
                profiles.append(summarize_stats(stats, command, envs))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return profiles


def main(argv: list[str] | None = None) -> int:
    """`python -m bench.profiling [N ...]`: print the profile summaries (default: 1 and 100 envs)."""
    sizes = tuple(int(a) for a in (argv if argv is not None else sys.argv[1:])) or (1, 100)
    for profile in run_profiles(sizes, lambda line: print(line, file=sys.stderr)):
        print(f"\n== {profile.command}, {profile.envs} env(s): {profile.total:.2f} s profiled")
        for label, seconds in profile.groups:
            print(f"  {seconds / profile.total:6.1%}  {label}")
        for label, calls, own in profile.top:
            print(f"  {own:7.3f} s  {calls:>9}  {label}")
        for label, calls in profile.once:
            print(f"  {calls:>5} x {label}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
