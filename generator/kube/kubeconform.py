"""A second opinion: run the real kubeconform, when it is installed, with equivalent options.

kubeconform gets `-strict -summary`, the Kubernetes version, `-schema-location default`
(its own Kubernetes schemas) followed by our locations, and our ignore-kinds as `-skip`.
Its verdict is reported beside ours; when it is not on PATH that is said plainly and is
never counted as a pass.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

from generator.kube.config import ValidateOptions
from generator.kube.location import SchemaLocation
from generator.kube.report import ExternalVerdict

TOOL = "kubeconform"
TIMEOUT_SECONDS = 600


def kubeconform_argv(
    binary: str, paths: Sequence[Path], locations: Sequence[SchemaLocation], version: str, ignore_kinds: frozenset[str]
) -> list[str]:
    """The kubeconform command line equivalent to our options for one Kubernetes version."""
    argv = [binary, "-strict", "-summary", "-output", "text", "-kubernetes-version", f"{version}.0"]
    argv += ["-schema-location", "default"]
    for location in locations:
        if not location.cache_only:  # our own cache's layout is not kubeconform's
            argv += ["-schema-location", location.template]
    if ignore_kinds:
        argv += ["-skip", ",".join(sorted(ignore_kinds))]
    return argv + [str(p) for p in paths]


def verdicts(
    paths: Sequence[Path], options: ValidateOptions, locations: Sequence[SchemaLocation]
) -> tuple[ExternalVerdict, ...]:
    """kubeconform's verdict for each Kubernetes version, or one `skipped` verdict without it."""
    binary = shutil.which(TOOL)
    if binary is None:
        return (ExternalVerdict(TOOL, "", "skipped", f"{TOOL} not on PATH: skipped"),)
    return tuple(
        run(kubeconform_argv(binary, paths, locations, version, options.ignore_kinds), version)
        for version in options.kubernetes_versions
    )


def run(argv: list[str], version: str) -> ExternalVerdict:
    """Run kubeconform once and keep its summary line (or its last words) and exit code."""
    import subprocess  # only when kubeconform is asked for

    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT_SECONDS, check=False)
    except (OSError, subprocess.TimeoutExpired) as err:
        return ExternalVerdict(TOOL, version, "failed", f"could not run {argv[0]}: {err}")
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    summary = next((line for line in reversed(lines) if line.startswith("Summary:")), lines[-1] if lines else "")
    status = "passed" if done.returncode == 0 else "failed"
    return ExternalVerdict(TOOL, version, status, summary, done.returncode)
