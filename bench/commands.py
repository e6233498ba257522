"""Generator benchmarks: `render`, `check` and `validate` as whole processes, Python start-up included.

Wall time is measured around the child process; peak memory is the child's own maximum resident
set size from `wait4` (ru_maxrss), so the benchmark's memory never counts.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from bench.project import REPO, clear_outputs, committed_project, synthetic_project
from bench.stats import Summary, summarize
from generator.kube.config import VENDORED_CRDS

CRD_SCHEMAS = VENDORED_CRDS  # offline: the CRD schemas the package carries
RUN_TIMEOUT_SECONDS = 300.0
SCHEMA_ONLY = "validate --skip cel,native"
COMMANDS: dict[str, tuple[str, ...]] = {
    "render": ("render",),  # from nothing: every file staged, fsynced and swapped in
    "check": ("check",),  # the same render in memory, compared with the tree just written
    "validate": ("validate", "--schema-location", str(CRD_SCHEMAS)),  # offline: local CRD schemas only
    # What validate was before CEL rules and native checks: schemas and cross-resource rules only.
    SCHEMA_ONLY: ("validate", "--skip", "cel,native", "--schema-location", str(CRD_SCHEMAS)),
}


class BenchError(RuntimeError):
    """A benchmarked command failed or could not run."""


@dataclass(frozen=True)
class Run:
    """One process: wall seconds and peak resident memory."""

    seconds: float
    max_rss_kib: int


@dataclass(frozen=True)
class Case:
    """A project to measure: a label, how many environments it has, how many runs per command."""

    label: str
    envs: int
    runs: int
    synthetic: bool


@dataclass(frozen=True)
class Measured:
    """Every run of one command on one case."""

    case: Case
    command: str
    runs: tuple[Run, ...]

    @property
    def seconds(self) -> Summary:
        return summarize([r.seconds for r in self.runs])

    @property
    def rss_mib(self) -> Summary:
        return summarize([r.max_rss_kib / 1024 for r in self.runs])


def gemma_command() -> list[str]:
    """`python -m generator` (what the `gemma-gitops` script runs), from PYTHONPATH's checkout."""
    return [sys.executable, "-m", "generator"]


def child_environment(scratch: Path, code: Path = REPO) -> dict[str, str]:
    """Our environment with `code`'s generator first on the path, the schema cache in the scratch
    directory and no schema-location override."""
    env = {k: v for k, v in os.environ.items() if k not in ("GEMMA_GITOPS_SCHEMA_LOCATIONS", "PYTHONPATH")}
    env["PYTHONPATH"] = str(code)
    env["XDG_CACHE_HOME"] = str(scratch / "cache")
    return env


def run_once(argv: list[str], cwd: Path, env: Mapping[str, str], timeout: float = RUN_TIMEOUT_SECONDS) -> Run:
    """Run a command to completion (killed after `timeout`); its wall time and peak RSS."""
    with tempfile.TemporaryFile() as errors:
        start = time.perf_counter()
        process = subprocess.Popen(argv, cwd=cwd, env=dict(env), stdin=subprocess.DEVNULL,
                                   stdout=subprocess.DEVNULL, stderr=errors)
        timer = threading.Timer(timeout, process.kill)
        timer.start()
        try:
            _, status, usage = os.wait4(process.pid, 0)
        finally:
            timer.cancel()
        seconds = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            errors.seek(0)
            tail = errors.read().decode("utf-8", "replace").strip().splitlines()[-5:]
            raise BenchError(f"{' '.join(argv)} exited with {process.returncode}: " + " / ".join(tail))
    return Run(seconds, usage.ru_maxrss)


def measure_project(root: Path, case: Case, env: Mapping[str, str]) -> list[Measured]:
    """Each command `case.runs` times, round-robin; an untimed render first warms caches and the tree."""
    base = [*gemma_command(), "--root", str(root)]
    clear_outputs(root)
    run_once([*base, "render"], root, env)
    runs: dict[str, list[Run]] = {name: [] for name in COMMANDS}
    for _ in range(case.runs):
        for name, args in COMMANDS.items():
            if name == "render":
                clear_outputs(root)
            runs[name].append(run_once([*base, *args], root, env))
    return [Measured(case, name, tuple(found)) for name, found in runs.items()]


def cases(quick: bool) -> list[Case]:
    """The committed environments, then 1, 10 and 100 synthetic ones."""
    committed = len([p for p in (REPO / "values").glob("*.yaml") if not p.name.startswith("_")])
    runs, big_runs = (1, 1) if quick else (5, 3)
    return [Case(f"committed ({committed} envs)", committed, runs, False),
            *(Case(f"synthetic {n}", n, runs if n < 100 else big_runs, True) for n in (1, 10, 100))]


def run_generator(quick: bool, progress: Callable[[str], None], code: Path = REPO) -> list[Measured]:
    """Every case, each in a fresh scratch project removed afterwards; `code` is the checkout measured."""
    if not CRD_SCHEMAS.is_dir():
        raise BenchError(f"no CRD schemas at {CRD_SCHEMAS}: validate cannot run offline")
    results: list[Measured] = []
    scratch = Path(tempfile.mkdtemp(prefix="gemma-bench-"))
    try:
        env = child_environment(scratch, code)
        for case in cases(quick):
            progress(f"generator: {case.label}, {case.runs} run(s) of {', '.join(COMMANDS)}")
            dest = scratch / case.label.replace(" ", "-").replace("(", "").replace(")", "")
            root = synthetic_project(dest, case.envs) if case.synthetic else committed_project(dest)
            results.extend(measure_project(root, case, env))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return results
