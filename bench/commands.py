"""Generator benchmarks: `render`, `check` and `validate` as whole processes, Python start-up included.

Wall time is measured around the child process; peak memory is the child's own maximum resident
set size from `wait4` (ru_maxrss), so the benchmark's memory never counts.
"""

from __future__ import annotations

import os
import re
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
    "check": ("check",),  # the same render in memory, compared with the tree just written (and validated)
    "validate": ("validate", "--schema-location", str(CRD_SCHEMAS)),  # offline: local CRD schemas only
    # What validate was before CEL rules and native checks: schemas and cross-resource rules only.
    SCHEMA_ONLY: ("validate", "--skip", "cel,native", "--schema-location", str(CRD_SCHEMAS)),
}
# What `make check` runs in the measured checkout, one process after the other (read from its Makefile):
# `check` alone since issue 20, `check` then `validate` before.
GATE = "make check (the gate)"
# `check` on a machine that has never run it: no compiled templates, no metaschema records yet.
COLD = "check, empty cache"
GATE_LINE = re.compile(r"^\t\$\(BIN\)/gemma-gitops (\w+)\s*$")


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
    """Our environment with `code`'s generator first on the path, its caches in the scratch directory and
    no schema-location override. Bytecode is written (to the scratch directory), as an installed tool has
    it: a PYTHONDONTWRITEBYTECODE in the shell would make every run compile the package again."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("GEMMA_GITOPS_SCHEMA_LOCATIONS", "PYTHONPATH", "PYTHONDONTWRITEBYTECODE")}
    env["PYTHONPATH"] = str(code)
    env["XDG_CACHE_HOME"] = str(scratch / "cache")
    env["PYTHONPYCACHEPREFIX"] = str(scratch / "pycache")
    return env


def gate_of(code: Path) -> tuple[tuple[str, ...], ...]:
    """The commands `make check` runs in a checkout, in order: its Makefile's check recipe, else `check`."""
    makefile = code / "Makefile"
    if not makefile.is_file():
        return (("check",),)
    lines = makefile.read_text(encoding="utf-8").split("\ncheck:", 1)[-1].split("\n\n", 1)[0].splitlines()[1:]
    found = tuple((m.group(1),) for m in map(GATE_LINE.match, lines) if m)
    return found or (("check",),)


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


def run_sequence(commands: tuple[tuple[str, ...], ...], root: Path, env: Mapping[str, str]) -> Run:
    """Processes one after the other, as make runs a recipe: their summed time, the largest peak memory."""
    runs = [run_once([*gemma_command(), "--root", str(root), *args], root, env) for args in commands]
    return Run(sum(r.seconds for r in runs), max(r.max_rss_kib for r in runs))


@dataclass(frozen=True)
class Checkout:
    """A generator to measure: its code, the environment that runs it, and what its `make check` runs."""

    code: Path
    env: Mapping[str, str]
    gate: tuple[tuple[str, ...], ...]


def measure_project(root: Path, case: Case, checkouts: list[Checkout], scratch: Path) -> list[list[Measured]]:
    """Each command of each checkout `case.runs` times, round-robin and alternating between the checkouts,
    so all see the same load; an untimed render and check of each first warm its caches (bytecode,
    compiled templates, metaschema records). One list of results per checkout."""
    base = [*gemma_command(), "--root", str(root)]
    for checkout in checkouts:
        clear_outputs(root)
        run_once([*base, "render"], root, checkout.env)
        run_once([*base, "check"], root, checkout.env)
    names = (*COMMANDS, GATE, COLD)
    runs: list[dict[str, list[Run]]] = [{name: [] for name in names} for _ in checkouts]
    for index in range(case.runs):
        for name in names:
            for checkout, found in zip(checkouts, runs, strict=True):
                found[name].append(_run_named(name, root, checkout, scratch / f"empty-cache-{case.envs}-{index}"))
    return [[Measured(case, name, tuple(found[name])) for name in names] for found in runs]


def _run_named(name: str, root: Path, checkout: Checkout, empty_cache: Path) -> Run:
    """One measured run of a command (render from nothing; the gate as its processes; check on an empty cache)."""
    if name == GATE:
        return run_sequence(checkout.gate, root, checkout.env)
    if name == COLD:
        try:
            return run_once([*gemma_command(), "--root", str(root), "check"], root,
                            {**checkout.env, "XDG_CACHE_HOME": str(empty_cache)})
        finally:
            shutil.rmtree(empty_cache, ignore_errors=True)
    if name == "render":
        clear_outputs(root)
    return run_once([*gemma_command(), "--root", str(root), *COMMANDS[name]], root, checkout.env)


def cases(quick: bool) -> list[Case]:
    """The committed environments, then 1, 10 and 100 synthetic ones."""
    committed = len([p for p in (REPO / "values").glob("*.yaml") if not p.name.startswith("_")])
    runs, big_runs = (1, 1) if quick else (5, 3)
    return [Case(f"committed ({committed} envs)", committed, runs, False),
            *(Case(f"synthetic {n}", n, runs if n < 100 else big_runs, True) for n in (1, 10, 100))]


AfterCase = Callable[[Case, Path, Mapping[str, str]], None]


def run_generator(quick: bool, progress: Callable[[str], None], code: Path = REPO,
                  after_case: AfterCase | None = None, before: Path | None = None) -> tuple[list[Measured], list[Measured]]:
    """Every case, each in a fresh scratch project removed afterwards: the results of `code`, and of
    `before` (another checkout's generator, measured alternately with it in the same run) when given.
    `after_case` gets each case's rendered project (and the environment to run it with) before it goes."""
    if not CRD_SCHEMAS.is_dir():
        raise BenchError(f"no CRD schemas at {CRD_SCHEMAS}: validate cannot run offline")
    results: list[list[Measured]] = [[], []]
    scratch = Path(tempfile.mkdtemp(prefix="gemma-bench-"))
    try:
        checkouts = [Checkout(c, child_environment(scratch / f"code-{i}", c), gate_of(c))
                     for i, c in enumerate([code, *([before] if before else [])])]
        for case in cases(quick):
            progress(f"generator: {case.label}, {case.runs} run(s) of {', '.join((*COMMANDS, GATE, COLD))}"
                     + (f", alternating with {before}" if before else ""))
            dest = scratch / case.label.replace(" ", "-").replace("(", "").replace(")", "")
            root = synthetic_project(dest, case.envs) if case.synthetic else committed_project(dest)
            for index, found in enumerate(measure_project(root, case, checkouts, scratch)):
                results[index].extend(found)
            if after_case is not None:
                run_once([*gemma_command(), "--root", str(root), "render"], root, checkouts[0].env)
                after_case(case, root, checkouts[0].env)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return results[0], results[1]
