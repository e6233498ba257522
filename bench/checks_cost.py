"""What CEL rules and native checks add to validation, measured in-process (no start-up, no render).

`python -m bench.checks_cost [N ...]` renders N synthetic environments (default 1, 10 and 100) into a
scratch project, warms every cache once (schemas and CEL rules compile once per process), then times
`validate_paths` on rendered/ and argocd/ with everything on and with `--skip cel,native`, interleaved,
and prints the medians. It asserts nothing.
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.project import synthetic_project
from generator.kube.check import validate_paths
from generator.kube.config import resolve_options
from generator.pipeline.render import run_render
from generator.settings import Settings

REPEATS = 9
VARIANTS = {"schema + rules": frozenset({"cel", "native"}), "+ CEL + native": frozenset()}


def render(root: Path) -> None:
    """Write rendered/ and argocd/ for the project's environments."""
    if run_render(Settings(root=root), echo=lambda _line: None, warn=lambda _line: None) != 0:
        raise SystemExit(f"render failed in {root}")


def timed(root: Path, skip: frozenset[str]) -> float:
    """Seconds for one validation of the whole tree (files are read each time, as a run does)."""
    options = resolve_options(root, skip=sorted(skip))
    start = time.perf_counter()
    report = validate_paths([root / "rendered", root / "argocd"], options)
    seconds = time.perf_counter() - start
    if report.failed:
        raise SystemExit("the synthetic tree does not validate clean")
    return seconds


def measure(envs: int, scratch: Path) -> dict[str, float]:
    """Median seconds of each variant on `envs` environments."""
    root = synthetic_project(scratch / f"p{envs}", envs)
    render(root)
    samples: dict[str, list[float]] = {name: [] for name in VARIANTS}
    for skip in VARIANTS.values():  # warm-up: compile schemas and rules, import cel-expr-python
        timed(root, skip)
    for _ in range(REPEATS):
        for name, skip in VARIANTS.items():
            samples[name].append(timed(root, skip))
    return {name: statistics.median(values) for name, values in samples.items()}


def main(argv: list[str]) -> int:
    """Print one line per size: both medians and the added share."""
    sizes = [int(a) for a in argv] or [1, 10, 100]
    scratch = Path(tempfile.mkdtemp(prefix="gemma-checks-cost-"))
    try:
        print(f"{'envs':>5} {'schema + rules ms':>18} {'+ CEL + native ms':>18} {'added ms':>9} {'added':>7}")
        for envs in sizes:
            found = measure(envs, scratch)
            base, full = found["schema + rules"] * 1000, found["+ CEL + native"] * 1000
            print(f"{envs:>5} {base:>18.1f} {full:>18.1f} {full - base:>9.1f} {(full - base) / base:>7.1%}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
