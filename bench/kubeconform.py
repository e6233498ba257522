"""`gemma-gitops check` against the real kubeconform on the same tree: alternating runs, the median of their ratios.

kubeconform (yannh/kubeconform) only validates; `check` renders in memory, compares with the disk and
validates what it rendered. Both read the same schemas offline: the Kubernetes schemas that the
kubernetes-validate wheel ships (its `v<X.Y.0>-local-strict/<kind><KindSuffix>.json` layout, a
kubeconform template) and the vendored CRD schemas, strictly, once per Kubernetes version the
environments name (kubeconform takes one version a run). The pairs alternate, so both see the same
load, and the ratio of each pair is taken before the median: the robust measure on a shared machine.

Without kubeconform on PATH nothing is measured and the report says so; no other number stands in
for it. A kubeconform that fails (a schema it cannot read, a resource it rejects) is reported with
its own last words, never as a time.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from bench.commands import RUN_TIMEOUT_SECONDS, BenchError, gemma_command, run_once
from bench.stats import Summary, summarize
from generator.kube import bundled
from generator.kube.config import VENDORED_CRDS
from generator.kube.location import CATALOG_LAYOUT

TOOL = "kubeconform"
# The wheel's layout as a kubeconform template (see generator/kube/bundled.py for the file names).
BUNDLED_LAYOUT = "{{ .NormalizedKubernetesVersion }}-local{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json"


@dataclass(frozen=True)
class Comparison:
    """One tree: `check` and kubeconform, each run `pairs` times, alternating."""

    label: str
    envs: int
    versions: tuple[str, ...]
    check: Summary
    kubeconform: Summary
    ratio: float  # median over pairs of check / kubeconform
    kubeconform_version: str


@dataclass(frozen=True)
class NotRun:
    """Why there is no comparison: said in the report as it is."""

    reason: str


def find() -> str | None:
    """The kubeconform binary on PATH, or None."""
    return shutil.which(TOOL)


def version(binary: str) -> str:
    """What `kubeconform -v` says."""
    done = subprocess.run([binary, "-v"], capture_output=True, text=True, timeout=30, check=False)
    return (done.stdout or done.stderr).strip().splitlines()[0] if (done.stdout or done.stderr).strip() else "unknown"


def argv(binary: str, root: Path, version_: str) -> list[str]:
    """kubeconform on rendered/ and argocd/ for one Kubernetes version, offline, with our schemas."""
    return [binary, "-strict", "-summary", "-output", "text", "-kubernetes-version", f"{version_}.0",
            "-schema-location", f"{bundled.schema_root().as_posix()}/{BUNDLED_LAYOUT}",
            "-schema-location", f"{VENDORED_CRDS.as_posix()}/{CATALOG_LAYOUT}",
            str(root / "rendered"), str(root / "argocd")]


def run_kubeconform(commands: list[list[str]], cwd: Path) -> float:
    """Seconds for kubeconform's runs, one per version; a failure is a BenchError with its last words."""
    total = 0.0
    for command in commands:
        try:
            total += run_once(command, cwd, {"PATH": "/usr/local/bin:/usr/bin:/bin"}).seconds
        except BenchError as err:
            raise BenchError(f"{TOOL} failed, so there is no comparison: {err}") from err
    return total


def compare(label: str, envs: int, root: Path, versions: tuple[str, ...], binary: str, pairs: int,
            env: Mapping[str, str]) -> Comparison:
    """`check` and kubeconform alternately, `pairs` times after one untimed run of each."""
    ours = [*gemma_command(), "--root", str(root), "check"]
    theirs = [argv(binary, root, v) for v in versions]
    run_once(ours, root, env, RUN_TIMEOUT_SECONDS)
    run_kubeconform(theirs, root)
    mine, other = [], []
    for _ in range(pairs):
        mine.append(run_once(ours, root, env, RUN_TIMEOUT_SECONDS).seconds)
        other.append(run_kubeconform(theirs, root))
    ratio = statistics.median(a / b for a, b in zip(mine, other, strict=True))
    return Comparison(label, envs, versions, summarize(mine), summarize(other), ratio, version(binary))


def run_comparisons(trees: list[tuple[str, int, Path, tuple[str, ...]]], pairs: Callable[[int], int],
                    env: Mapping[str, str], progress: Callable[[str], None]) -> list[Comparison] | NotRun:
    """A comparison per tree (label, environments, root, versions), or why none was made."""
    binary = find()
    if binary is None:
        return NotRun(f"not run: {TOOL} is not on PATH, so there is no ratio to it "
                      "(install it, e.g. from its release binaries, and run `make bench` again)")
    found = []
    for label, envs, root, versions in trees:
        progress(f"kubeconform: {label}, {pairs(envs)} alternating pair(s)")
        try:
            found.append(compare(label, envs, root, versions, binary, pairs(envs), env))
        except BenchError as err:
            return NotRun(str(err))
    return found
