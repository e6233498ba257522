"""`python -m bench.mutation` (`make mutation`): how often a subtly wrong program still passes the tests.

    python -m bench.mutation                  both parts, rewrites bench/mutation.md
    python -m bench.mutation --only proxy     the proxy catalogue (testkit/proxy_mutants.py) in real nginx
    python -m bench.mutation --only python    mutmut over the core modules ([tool.mutmut] in pyproject.toml)
    python -m bench.mutation --only proxy --mutant proxy-buffering-on   one mutant, results printed only

Proxy mutants run one at a time in a copy of the project (the working tree is never edited): the copy's
`generator` is imported first because pytest runs from the copy's root. Each run is `pytest -x` over
tests/proxy after a run of the mutant's expected killers alone; a mutant is killed when a run fails. Measures and
reports; asserts nothing. Not in CI: a surviving mutant costs a whole tests/proxy run (about 75 s).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from testkit.proxy_mutants import MUTANTS, Mutant

REPO = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).with_name("mutation.md")
COPIED = ("generator", "testkit", "tests", "schemas", "values", "pyproject.toml")
PROXY_TIMEOUT_SECONDS = 900
SECTION = re.compile(r"<!-- (?P<part>proxy|python) -->\n.*?<!-- /(?P=part) -->\n", re.S)
# mutmut's exit codes per mutant (mutmut/__main__.py, status_by_exit_code at 3.8.1)
MUTMUT_STATUS = {0: "survived", 1: "killed", 3: "killed", -24: "timeout", 24: "timeout", 33: "no tests", 34: "skipped",
                 35: "suspicious", 36: "timeout", 37: "caught by type check", -11: "segfault", -9: "killed"}


@dataclass(frozen=True)
class Outcome:
    """What the tests made of one proxy mutant."""

    mutant: Mutant
    killed: bool
    seconds: float
    by: str  # the first failing test, or ""


# -- the proxy catalogue -----------------------------------------------------------------------


def copy_project(into: Path) -> Path:
    """A copy of what tests/proxy needs, without caches."""
    for name in COPIED:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, into / name, ignore=shutil.ignore_patterns("__pycache__", ".hypothesis"))
        else:
            shutil.copy2(source, into / name)
    imported = subprocess.run([sys.executable, "-c", "import generator; print(generator.__file__)"], cwd=into,
                              capture_output=True, text=True, check=True).stdout.strip()
    if not imported.startswith(str(into)):
        raise SystemExit(f"the copy imports {imported}, not its own generator: mutants would not be tested")
    return into


def run_proxy_tests(root: Path, first: Sequence[str], rest: Sequence[str] = ("tests/proxy",)) -> tuple[bool, str]:
    """(passed, first failing test) of `pytest -x` over `first`, then `rest`, in `root`."""
    env = {**os.environ, "GEMMA_GITOPS_REQUIRE_NGINX": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "-p", "no:randomly", *first, *rest]
    with subprocess.Popen(command, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          start_new_session=True) as process:
        try:
            output, _ = process.communicate(timeout=PROXY_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            # SIGINT: pytest runs its fixtures' teardown, which stops the nginx it started (each in a
            # session of its own, out of reach of a signal to pytest's group); SIGKILL if that hangs.
            os.killpg(process.pid, signal.SIGINT)
            try:
                process.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.communicate()
            return False, f"(timed out after {PROXY_TIMEOUT_SECONDS} s)"
    failed = re.search(r"^(?:FAILED|ERROR) (\S+)", output, re.M)
    return process.returncode == 0, failed.group(1) if failed else ("" if process.returncode == 0 else output[-300:])


def run_mutant(root: Path, mutant: Mutant) -> Outcome:
    """Apply one mutant to the copy's template, run the tests, put the template back."""
    template = root / "generator" / "templates" / "proxy" / mutant.file
    original = template.read_text(encoding="utf-8")
    template.write_text(mutant.apply(original), encoding="utf-8")
    started = time.monotonic()
    try:
        # The expected killers alone first (seconds), then, if it survives them, all of tests/proxy.
        passed, by = run_proxy_tests(root, mutant.killed_by, ()) if mutant.killed_by else (True, "")
        if passed:
            passed, by = run_proxy_tests(root, ())
    finally:
        template.write_text(original, encoding="utf-8")
    if not passed and by.startswith("tests/"):
        # A timing test that fails under load would fake a kill: it counts only when the same test
        # passes without the mutant.
        unmutated, _ = run_proxy_tests(root, (by.split("[", 1)[0],), ())  # every parameter: an id may hold spaces
        if not unmutated:
            return Outcome(mutant, False, time.monotonic() - started, f"(flaky, not counted: {by} fails unmutated too)")
    return Outcome(mutant, not passed, time.monotonic() - started, by)


def run_catalogue(mutants: Iterable[Mutant]) -> list[Outcome]:
    """Every mutant against tests/proxy, after a clean run proves the copy passes unmutated."""
    with tempfile.TemporaryDirectory(prefix="gemma-mutation-") as scratch:
        root = copy_project(Path(scratch))
        started = time.monotonic()
        passed, by = run_proxy_tests(root, ())
        print(f"unmutated: {'pass' if passed else 'FAIL ' + by} ({time.monotonic() - started:.0f} s)", flush=True)
        if not passed:
            raise SystemExit("tests/proxy fails without a mutant: fix that first")
        outcomes = []
        for mutant in mutants:
            outcome = run_mutant(root, mutant)
            verdict = "killed" if outcome.killed else ("equivalent" if mutant.equivalent else "SURVIVED")
            print(f"{verdict:10} {mutant.name} ({outcome.seconds:.0f} s) {outcome.by}", flush=True)
            outcomes.append(outcome)
        return outcomes


def proxy_section(outcomes: Sequence[Outcome]) -> str:
    """The markdown of a catalogue run: a score per file, then every mutant."""
    lines = ["## The auth proxy: hand-written mutants (testkit/proxy_mutants.py) against tests/proxy in real nginx", "",
             "| template | mutants | killed | equivalent | survived | score (killed / non-equivalent) |",
             "|---|---|---|---|---|---|"]
    for file in sorted({o.mutant.file for o in outcomes}):
        mine = [o for o in outcomes if o.mutant.file == file]
        killed = sum(o.killed for o in mine)
        equivalent = sum(1 for o in mine if not o.killed and o.mutant.equivalent)
        survived = len(mine) - killed - equivalent
        counted = len(mine) - equivalent
        lines.append(f"| {file} | {len(mine)} | {killed} | {equivalent} | {survived} | {100 * killed / max(1, counted):.0f}% |")
    lines += ["", "| mutant | breaks | verdict | first failing test | seconds |", "|---|---|---|---|---|"]
    for o in outcomes:
        verdict = "killed" if o.killed else (f"equivalent: {o.mutant.equivalent}" if o.mutant.equivalent else "**survived**")
        lines.append(f"| {o.mutant.name} | {o.mutant.breaks} | {verdict} | {o.by.replace('|', '/')} | {o.seconds:.0f} |")
    return "\n".join(lines) + "\n"


# -- mutmut over the core --------------------------------------------------------------------------


def run_mutmut(max_children: int) -> None:
    """mutmut run over [tool.mutmut]'s modules; its state stays in mutants/ (incremental on a re-run)."""
    subprocess.run([sys.executable, "-m", "mutmut", "run", "--max-children", str(max_children)], cwd=REPO, check=False)


def mutmut_statuses(root: Path = REPO) -> dict[str, str]:
    """mutant name → status, from mutmut's per-module .meta files."""
    statuses: dict[str, str] = {}
    for meta in sorted((root / "mutants").rglob("*.py.meta")):
        for name, code in json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"].items():
            statuses[name] = "not run" if code is None else MUTMUT_STATUS.get(code, f"exit {code}")
    return statuses


def module_of(mutant_name: str) -> str:
    """`generator.tree.x_write__mutmut_3` → `generator/tree.py`; plan's modules grouped as generator/plan/."""
    path = re.split(r"\.x(?:_|ǁ)", mutant_name, maxsplit=1)[0].replace(".", "/")
    return "generator/plan/" if path.startswith("generator/plan") else f"{path}.py"


def python_section(statuses: dict[str, str], reviewed: dict[str, str]) -> str:
    """The markdown of mutmut's results: a score per module, and every survivor with its review."""
    by_module: dict[str, Counter[str]] = {}
    for name, status in statuses.items():
        if status == "survived" and reviewed.get(name, "").startswith("equivalent"):
            status = "equivalent"
        by_module.setdefault(module_of(name), Counter())[status] += 1
    lines = ["## The Python core: mutmut (pinned in the `mutation` extra), the tests of [tool.mutmut]", "",
             "Score: killed / (mutants run - equivalent). Not run: not reached in the time given, or by no test.", "",
             "| module | mutants | run | killed | equivalent | survived | score |", "|---|---|---|---|---|---|---|"]
    for module, counts in sorted(by_module.items()):
        killed = counts["killed"] + counts["timeout"] + counts["caught by type check"]
        run = sum(counts.values()) - counts["not run"] - counts["no tests"] - counts["skipped"]
        counted = run - counts["equivalent"]
        score = f"{100 * killed / counted:.1f}%" if counted else "-"
        lines.append(f"| {module} | {sum(counts.values())} | {run} | {killed} | {counts['equivalent']} | "
                     f"{counts['survived']} | {score} |")
    survivors = sorted(n for n, s in statuses.items() if s in ("survived", "no tests"))
    lines += ["", f"Survivors and mutants no test reaches ({len(survivors)}), each with its review; "
              "`mutmut show NAME` prints the change.", ""]
    lines += [f"- `{name}` ({statuses[name]}): {reviewed.get(name, 'not reviewed yet')}" for name in survivors]
    return "\n".join(lines) + "\n"


REVIEWED = Path(__file__).with_name("mutation_reviewed.json")  # survivor name → equivalent/accepted: why


# -- the results file --------------------------------------------------------------------------------


def write_section(part: str, body: str, path: Path = RESULTS) -> None:
    """Replace one part's section of the results file, keeping the other's."""
    text = path.read_text(encoding="utf-8") if path.exists() else "# Mutation testing (`make mutation`)\n\n"
    block = f"<!-- {part} -->\n{body}<!-- /{part} -->\n"
    found = [m for m in SECTION.finditer(text) if m.group("part") == part]
    text = text.replace(found[0].group(0), block) if found else text + "\n" + block
    path.write_text(text, encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    """Run what was asked, print it, write bench/mutation.md (unless only some mutants ran)."""
    parser = argparse.ArgumentParser(prog="python -m bench.mutation", description=__doc__.split("\n")[0])
    parser.add_argument("--only", choices=("proxy", "python"))
    parser.add_argument("--mutant", action="append", default=[], help="a proxy mutant's name (repeatable)")
    parser.add_argument("--max-children", type=int, default=1, help="mutmut's parallel test runs")
    parser.add_argument("--report-only", action="store_true", help="rewrite the python section from mutants/ without running")
    args = parser.parse_args(argv)
    if args.only != "python":
        chosen = [m for m in MUTANTS if not args.mutant or m.name in args.mutant]
        outcomes = run_catalogue(chosen)
        if not args.mutant:
            write_section("proxy", proxy_section(outcomes))
    if args.only != "proxy":
        if not args.report_only:
            run_mutmut(args.max_children)
        reviewed = json.loads(REVIEWED.read_text(encoding="utf-8")) if REVIEWED.exists() else {}
        write_section("python", python_section(mutmut_statuses(), reviewed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
