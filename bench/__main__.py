"""`python -m bench`: run the benchmarks, print tables, write bench/results.md. Measures; asserts nothing.

    python -m bench                   everything (about 4 minutes on 2 cores), writes bench/results.md
    python -m bench --quick           one run of each, shorter wrk runs; writes nothing unless --output
    python -m bench --only generator  (or proxy) one part

The serving benchmark is its own command, `python -m bench.serving` (`make bench-serving`); this one
keeps the section it wrote in bench/results.md.
"""

from __future__ import annotations

import argparse
import datetime
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bench import kubeconform, machine, report
from bench.commands import COMMANDS, BenchError, Case, Measured, run_generator
from bench.profiling import Profile, run_profiles
from bench.project import REPO
from bench.proxy import KEY, QUICK, WRONG_KEY, ProxyBenchError, ProxyResults, Settings, preflight, run_proxy
from bench.serving import results as serving_results
from generator.settings import Settings as ProjectSettings
from generator.valuefiles import kubernetes_versions

RESULTS = Path(__file__).with_name("results.md")
E2E_NOTES = Path(__file__).with_name("e2e-build.md")
BASELINE = Path(__file__).with_name("baseline.json")
PARTS = ("generator", "proxy")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=PARTS, help="run only this part")
    parser.add_argument("--quick", action="store_true", help="one run each, short wrk runs (a smoke test)")
    parser.add_argument("--no-profile", action="store_true", help="skip the cProfile runs of the generator")
    parser.add_argument("--output", type=Path, help=f"Markdown results (default: {RESULTS.relative_to(REPO)}, "
                                                    "none with --quick)")
    parser.add_argument("--json", type=Path, help="also write the raw results as JSON (a later --baseline)")
    parser.add_argument("--baseline", type=Path, default=BASELINE,
                        help="JSON of an earlier run to compare the generator against (default: %(default)s if present)")
    parser.add_argument("--code", type=Path, default=REPO,
                        help="the checkout whose generator/ is measured (default: this one)")
    parser.add_argument("--note", default="", help="what this run measures, stored in --json output")
    parser.add_argument("--before", metavar="REF",
                        help="a git ref (or a checkout's directory) whose generator is measured in the same run, "
                             "alternating with this one, for the before/after table (instead of --baseline)")
    return parser.parse_args(argv)


def progress(line: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {line}", file=sys.stderr, flush=True)


def reading(measured: list[Measured], profiles: list[Profile], proxy: ProxyResults | None,
            compared: list[kubeconform.Comparison] | kubeconform.NotRun | None = None) -> list[str]:
    """A few sentences on what the numbers mean, derived from them."""
    lines = []
    if isinstance(compared, kubeconform.NotRun):
        lines.append(f"kubeconform comparison {compared.reason}.")
    elif compared:
        lines += [f"`check` on {c.label} takes {c.ratio:.2f}× kubeconform's time ({c.check.median:.2f} s against "
                  f"{c.kubeconform.median:.2f} s for {', '.join(c.versions)})." for c in compared]
    by = {(m.command, m.case.envs): m for m in measured if m.case.synthetic}
    if all((c, n) in by for c in COMMANDS for n in (1, 10, 100)):
        for command in COMMANDS:
            at10, at100 = report.per_env_ms(by, command, 10), report.per_env_ms(by, command, 100)
            flat = "flat" if abs(at100 - at10) <= 0.35 * max(at10, at100) else "not flat"
            lines.append(f"`{command}`: {by[command, 1].seconds.median:.2f} s for one environment (start-up and "
                         f"imports), then {at100:.1f} ms per extra environment at 100 ({at10:.1f} ms at 10: {flat}).")
    for p in (p for p in profiles if p.envs == max(q.envs for q in profiles)):
        label, seconds = p.groups[0]
        lines.append(f"Profile of `{p.command}` on {p.envs} environments: {label} takes {seconds / p.total:.0%} "
                     "of the own time.")
    if proxy:
        added = proxy.proxied.median - proxy.direct.median
        lines.append(f"The proxy adds {added:.3f} ms to the first streamed event, serves {proxy.authorized_ratio:.0%} "
                     f"of the fake's direct rate with a valid key and refuses {proxy.rejected.rps.median:,.0f} wrong keys "
                     f"per second ({proxy.rejected.cpu_us_per_request['nginx workers']:.1f} µs of worker CPU each); its "
                     f"worker holds {proxy.memory.busy_rss / 1024:.1f} MiB with {proxy.memory.streams} streams open.")
        lines.append(f"Metrics on cost {proxy.metrics_cost(KEY):+.1%} of valid-key and {proxy.metrics_cost(WRONG_KEY):+.1%} "
                     f"of wrong-key throughput, first event {proxy.proxied.median:.3f} ms against "
                     f"{proxy.no_metrics.median:.3f} ms without.")
        if proxy.worst is not None:
            lines.append(f"At its worst ({proxy.worst['connections_open']:,} connections before authentication, as many "
                         f"as worker_connections {proxy.worst['worker_connections']:,} hold before nginx closes idle ones, "
                         f"and {proxy.worst['requests_in_flight']} requests in flight) the proxy measured "
                         f"{proxy.worst['with_requests']['total_pss'] / 2**20:.1f} MiB of its 64 MiB limit.")
    return lines


METHOD = """\
How it was measured:

- Generator: each command runs as its own process (`python -m generator`, what the `gemma-gitops`
  script runs), Python start-up and imports included. Wall time is taken around the process; peak
  memory is the child's own maximum RSS from `wait4`. `render` starts from an empty output each time
  (every file staged, fsynced and swapped in); `check` compares with the tree just rendered;
  `validate` uses the vendored CRD schemas only (offline). Commands run round-robin.
- Synthetic environments are variants of `values/prod.yaml` (own hostname, namespace and
  contextSize cycling 2048/3072/4096), over `values/_shared.yaml` when the repository has one.
- Auth proxy: the rendered nginx.conf and auth.lua (`workerProcesses` 1) run in nginx with the Lua
  module, laid out by testkit/nginx.py; the one change is `listen 127.0.0.1:<port>`,
  so nothing listens beyond loopback. "After" is this tree's proxy with its fairness limits raised
  out of the way of wrk (50 connections, one key, one address); "throttled" is its defaults;
  "before" is the proxy of commit 14b5711 (before issue 21), rendered by that commit's generator;
  "metrics off" is "after" with metrics.enabled false (issue 15), run side by side with it.
  The access log goes to a file, as in the tests. The upstream is bench/upstream.py (asyncio, raw
  HTTP/1.1, keep-alive) in its own process; "direct" is the same fake without a proxy. The
  worst-case memory is testkit/proxy_memory.py with the production defaults.
- wrk, nginx and the fake share the same cores: on 2 cores the proxy competes with its own load
  generator, so the requests-per-second figures are lower bounds of what nginx alone could do.
"""


def render_markdown(sections: list[report.Section], facts: dict[str, str], lines: list[str], command: str) -> str:
    """bench/results.md."""
    out = ["# Benchmark results", "",
           "Measured, not asserted: `make bench` rewrites this file. Numbers depend on the machine and on",
           "what else runs on it (see the load average).", "",
           f"Command: `{command}`", "", "| | |", "| --- | --- |"]
    out += [f"| {key} | {value} |" for key, value in facts.items()]
    out += ["", "## Reading", ""] + [f"- {line}" for line in lines] + [""]
    out += ["## Tables", ""] + [report.as_markdown(s) for s in sections] + ["## Method", "", METHOD]
    return "\n".join(out + e2e_section())


def e2e_section() -> list[str]:
    """The llama.cpp build times and the budget-vs-llama-server table that `make e2e` measured.

    They come from bench/e2e-build.md (the build takes minutes, so this run does not redo it).
    """
    if not E2E_NOTES.is_file():
        return []
    lines = E2E_NOTES.read_text(encoding="utf-8").splitlines()
    body = lines[1:] if lines and lines[0].startswith("# ") else lines
    return ["", f"## llama.cpp build and end-to-end memory (`make e2e`; from {E2E_NOTES.name})", "",
            *(f"#{line}" if line.startswith("## ") else line for line in body), ""]


@dataclass
class Measurements:
    """Everything one run measured."""

    generator: list[Measured] = field(default_factory=list)
    profiles: list[Profile] = field(default_factory=list)
    proxy: ProxyResults | None = None
    kubeconform: list[kubeconform.Comparison] | kubeconform.NotRun | None = None
    before: list[Measured] = field(default_factory=list)  # --before, measured alternately with the generator
    before_label: str = ""


@contextmanager
def checkout_of(ref: str | None) -> Iterator[Path | None]:
    """The generator (and Makefile) of a git ref, or a directory as given, for the life of the run."""
    if ref is None or Path(ref).is_dir():
        yield Path(ref).resolve() if ref else None
        return
    scratch = Path(tempfile.mkdtemp(prefix="gemma-bench-before-"))
    try:
        archive = subprocess.run(["git", "-C", str(REPO), "archive", ref, "generator", "Makefile"],
                                 capture_output=True, check=False)
        if archive.returncode != 0:
            raise BenchError(f"--before {ref}: {archive.stderr.decode(errors='replace').strip()}")
        subprocess.run(["tar", "-x", "-C", str(scratch)], input=archive.stdout, check=True)
        yield scratch
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def comparing(found: Measurements, quick: bool) -> Callable[[Case, Path, Mapping[str, str]], None]:
    """What run_generator does with each case's tree: compare `check` with kubeconform on it."""
    def compare(case: Case, root: Path, env: Mapping[str, str]) -> None:
        if isinstance(found.kubeconform, kubeconform.NotRun):
            return
        versions = tuple(sorted({v for vs in kubernetes_versions(ProjectSettings(root=root)).values() for v in vs}))
        pairs = 1 if quick else (3 if case.envs >= 100 else 7)
        result = kubeconform.run_comparisons([(case.label, case.envs, root, versions)], lambda _n: pairs, env, progress)
        if isinstance(result, kubeconform.NotRun):
            found.kubeconform = result
        else:
            found.kubeconform = [*(found.kubeconform or []), *result]
    return compare


def measure(args: argparse.Namespace) -> Measurements:
    """Run the parts asked for; the proxy's prerequisites are checked before anything runs."""
    runtime = preflight() if args.only in (None, "proxy") else None
    found = Measurements()
    code = args.code.resolve()
    if args.only in (None, "generator"):
        with checkout_of(args.before) as before:
            found.generator, found.before = run_generator(args.quick, progress, code, comparing(found, args.quick),
                                                          before)
        found.before_label = args.before or ""
        if not args.no_profile and not args.quick:
            found.profiles = run_profiles((1, 100), progress, code)
    if runtime is not None:
        found.proxy = run_proxy(runtime, QUICK if args.quick else Settings(), progress)
    return found


def sections_of(found: Measurements, baseline: Path) -> list[report.Section]:
    """Every table that has numbers behind it."""
    sections: list[report.Section | None] = []
    if found.generator:
        before = ({"note": f"`{found.before_label}`, measured in the same run, alternating with this checkout",
                   "generator": [asdict(m) for m in found.before]} if found.before else report.load_baseline(baseline))
        sections += [report.kubeconform_section(found.kubeconform),
                     report.generator_section(found.generator), report.scaling_section(found.generator),
                     report.checks_cost_section(found.generator),
                     report.baseline_section(found.generator, before) if before else None,
                     report.profile_section(found.profiles)]
    if found.proxy:
        sections += report.proxy_sections(found.proxy)
    return [s for s in sections if s is not None]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    facts = machine.describe()
    facts["date (UTC)"] = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d")
    started = time.monotonic()
    try:
        found = measure(args)
    except (BenchError, ProxyBenchError) as err:
        print(f"bench: {err}", file=sys.stderr)
        return 1
    if found.proxy:
        facts["nginx"] = found.proxy.nginx
        facts["wrk"] = machine.tool_version(["wrk", "-v"])
    facts["load average at end"] = machine.load_average()
    facts["benchmark duration"] = f"{time.monotonic() - started:.0f} s"
    sections = sections_of(found, args.baseline)
    lines = reading(found.generator, found.profiles, found.proxy, found.kubeconform)
    print("\n".join(report.as_text(s) for s in sections) + "\n" + "\n".join(lines))
    output = args.output or (None if args.quick else RESULTS)
    if output:
        command = " ".join(["python -m bench", *(argv if argv is not None else sys.argv[1:])])
        # `make bench-serving` owns its own section (40 minutes to measure): kept as it is.
        kept = serving_results.section_of(output.read_text(encoding="utf-8")) if output.is_file() else None
        output.write_text(serving_results.with_section(render_markdown(sections, facts, lines, command), kept),
                          encoding="utf-8")
        progress(f"wrote {output}")
    if args.json:
        args.json.write_text(report.to_json(found.generator, found.proxy, facts, args.note, found.kubeconform,
                                            found.before), encoding="utf-8")
        progress(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
