"""Policy checks beyond schemas: checkov's Kubernetes checks and yamllint's default rules.

checkov runs as a subprocess with everything that would call home turned off:
`--skip-download` (no policy metadata or custom policies from the Prisma/Bridgecrew platform),
`BC_SKIP_MAPPING=TRUE` (the same, for the check-ID mapping) and
`CKV_SKIP_PACKAGE_UPDATE_CHECK=True` (no PyPI query for a newer checkov); without an API key
it then scans locally only. It takes about three seconds just to start.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from yamllint import linter
from yamllint.config import YamlLintConfig

from generator.errors import GeneratorError, Problem
from generator.kube.resource import display_path, manifest_files

CHECKOV_OFFLINE_ENV = {"BC_SKIP_MAPPING": "TRUE", "CKV_SKIP_PACKAGE_UPDATE_CHECK": "True"}
CHECKOV_TIMEOUT_SECONDS = 600
RESOURCE_FIELDS = frozenset({"apiVersion", "kind", "metadata", "spec", "data", "stringData"})
# yamllint's default rules, except that `key: <one unbreakable word>` may pass 80 columns:
# an image pinned by tag and digest (which checkov's CKV_K8S_43 asks for) cannot be shorter.
YAMLLINT_CONFIG = """
extends: default
rules:
  line-length:
    allow-non-breakable-inline-mappings: true
"""


def checkov_binary() -> str:
    """The checkov beside this Python (a venv's bin/), else on PATH."""
    beside = Path(sys.executable).with_name("checkov")
    found = str(beside) if beside.is_file() else shutil.which("checkov")
    if found is None:
        raise GeneratorError("checkov is not installed: pip install 'checkov>=3.2,<4'")
    return found


def checkov_argv(binary: str, directory: Path, skip_checks: Sequence[str] = ()) -> list[str]:
    """The offline checkov command line for one directory, with JSON output."""
    argv = [binary, "-d", str(directory), "--framework", "kubernetes", "--compact", "--quiet"]
    argv += ["--skip-download", "--output", "json"]
    if skip_checks:
        argv += ["--skip-check", ",".join(skip_checks)]
    return argv


def run_checkov(directory: Path, skip_checks: Sequence[str] = (), root: Path | None = None) -> list[Problem]:
    """checkov's failed Kubernetes checks for a directory, one Problem each."""
    env = {**os.environ, **CHECKOV_OFFLINE_ENV}
    argv = checkov_argv(checkov_binary(), directory, skip_checks)
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, env=env, timeout=CHECKOV_TIMEOUT_SECONDS, check=False
        )
    except subprocess.TimeoutExpired:
        return [Problem(str(directory), "", f"checkov did not finish in {CHECKOV_TIMEOUT_SECONDS}s")]
    return parse_checkov(done.stdout, done.stderr, directory, root or directory)


def parse_checkov(stdout: str, stderr: str, directory: Path, root: Path) -> list[Problem]:
    """Problems from checkov's JSON output (one report, or a list of them)."""
    try:
        data = json.loads(stdout)
    except ValueError:
        tail = (stderr or stdout).strip().splitlines()[-1:] or ["no output"]
        return [Problem(str(directory), "", f"checkov failed: {tail[0]}")]
    reports = data if isinstance(data, list) else [data]
    problems = (p for report in reports for p in _report_problems(report, root))
    return sorted(problems, key=lambda p: (p.file, p.path, p.message))


def _report_problems(report: Mapping[str, Any], root: Path) -> Iterable[Problem]:
    """The failed checks and parsing errors of one checkov report."""
    results = report.get("results", {})
    for check in results.get("failed_checks", []):
        file = display_path(Path(check.get("file_abs_path") or check.get("file_path", "")), root)
        message = f"{check.get('resource')}: {check.get('check_name')} ({check.get('check_id')})"
        yield Problem(file, _checkov_path(check), message)
    for path in results.get("parsing_errors", []):
        yield Problem(display_path(Path(path), root), "", "checkov could not parse this file (checkov)")


def _checkov_path(check: Mapping[str, Any]) -> str:
    """`$.spec.template...` from checkov's first evaluated key, else its line range."""
    keys = check.get("check_result", {}).get("evaluated_keys") or []
    parts = [p.strip("[]") for p in str(keys[0]).split("/") if p] if keys else []
    if parts and parts[0] in RESOURCE_FIELDS:  # graph checks evaluate keys like `resource_type`
        return "$" + "".join(f"[{p}]" if p.isdigit() else f".{p}" for p in parts)
    first, last = (check.get("file_line_range") or [0, 0])[:2]
    return f"lines {first}-{last}"


def run_yamllint(paths: Iterable[Path], config: str = YAMLLINT_CONFIG, root: Path | None = None) -> list[Problem]:
    """yamllint's errors and warnings for files and directories, one Problem each."""
    conf = YamlLintConfig(config)
    problems = []
    for file in _yaml_files(paths):
        text = file.read_text(encoding="utf-8")
        label = display_path(file, root) if root else str(file)
        for found in linter.run(text, conf, str(file)):
            where = f"line {found.line}, column {found.column}"
            problems.append(Problem(label, where, f"[{found.level}] {found.desc} ({found.rule or 'syntax'})"))
    return problems


def _yaml_files(paths: Iterable[Path]) -> list[Path]:
    """The YAML files named, and those under the directories named, sorted."""
    files: list[Path] = []
    for path in paths:
        files.extend(manifest_files(path) if path.is_dir() else [path])
    return sorted(files)


def policy_problems(directory: Path, skip_checks: Sequence[str] = (), root: Path | None = None) -> list[Problem]:
    """yamllint then checkov on one rendered directory."""
    return [*run_yamllint([directory], root=root), *run_checkov(directory, skip_checks, root)]


def assert_policy_clean(directory: Path, skip_checks: Sequence[str] = (), root: Path | None = None) -> None:
    """A pytest helper: fail with one line per problem when a directory breaks policy."""
    problems = policy_problems(directory, skip_checks, root)
    assert not problems, "policy problems:\n" + "\n".join(f"  {p}" for p in problems)


def main(argv: Sequence[str]) -> int:
    """`python -m testkit.policy DIR...`: print every policy problem; exit 1 if any."""
    problems = [p for directory in argv for p in policy_problems(Path(directory), root=Path.cwd())]
    for problem in problems:
        print(problem)
    print(f"policy: {len(problems)} problem(s) in {len(argv)} director{'y' if len(argv) == 1 else 'ies'}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
