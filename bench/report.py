"""Tables and a short reading of the measurements, as aligned text (terminal) and Markdown (results.md)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.commands import COLD, COMMANDS, GATE, SCHEMA_ONLY, Measured
from bench.kubeconform import Comparison, NotRun
from bench.profiling import Profile
from bench.proxy import BEFORE_REF, KEY, WRONG_KEY, Latency, ProxyResults
from bench.stats import summarize

# The goals of issue 8, and what the seed's proxy configuration measured on this kind of machine.
TTFB_ADDED_GOAL_MS = 0.3
AUTHORIZED_RATIO_GOAL = 0.40
REJECTED_GOAL_RPS = 50_000
WORKER_MEMORY_GOAL_MIB = 20
METRICS_COST_GOAL = 0.10  # issue 15: metrics on cost the proxy less than 10% of throughput and added first-byte time
SEED_TTFB_ADDED_MS = 0.6
SEED_REJECTED_RPS = 47_000
SIZES = (1, 10, 100)
CEL_NATIVE_GOAL = 0.50  # issue 16: CEL rules and native checks add less than half of validate's time
SCALING_GOAL = 10.0  # issue 20: `check` on 100 environments takes no more than 10 times one
KUBECONFORM_GOAL = 1.0  # issue 20: `check` (render + drift + validation) at or below kubeconform's time
SCALED = (*COMMANDS, GATE)


@dataclass
class Section:
    """A titled table with notes under it."""

    title: str
    headers: Sequence[str]
    rows: list[list[str]]
    notes: list[str] = field(default_factory=list)


# -- generator ---------------------------------------------------------------------------------


def generator_section(measured: list[Measured]) -> Section:
    """Every case and command: wall time and peak RSS, median and range."""
    rows = [[m.case.label, m.command, m.seconds.show(), m.rss_mib.show("{:.1f}"), str(len(m.runs))] for m in measured]
    return Section("Generator: whole processes (Python start-up included)",
                   ("project", "command", "wall s, median (min–max)", "peak RSS MiB, median (min–max)", "runs"), rows)


def _synthetic(measured: list[Measured]) -> dict[tuple[str, int], Measured]:
    return {(m.command, m.case.envs): m for m in measured if m.case.synthetic}


def per_env_ms(by: dict[tuple[str, int], Measured], command: str, n: int) -> float:
    """(T(N) − T(1)) / (N − 1) in milliseconds, from medians."""
    return (by[command, n].seconds.median - by[command, 1].seconds.median) / (n - 1) * 1000


def scaling_section(measured: list[Measured]) -> Section | None:
    """Cost per environment beyond the first, at 10 and at 100 environments."""
    by = _synthetic(measured)
    if not all((c, n) in by for c in SCALED for n in SIZES):
        return None
    rows = []
    for command in SCALED:
        t1, t100 = by[command, 1].seconds.median, by[command, 100].seconds.median
        m1, m100 = by[command, 1].rss_mib.median, by[command, 100].rss_mib.median
        rows.append([command, f"{t1:.2f}", f"{by[command, 10].seconds.median:.2f}", f"{t100:.2f}",
                     f"{per_env_ms(by, command, 10):.1f}", f"{per_env_ms(by, command, 100):.1f}", f"{t100 / t1:.1f}×",
                     f"{m1:.1f}", f"{m100:.1f}", f"{(m100 - m1) * 1024 / 99:.0f}"])
    return Section("Generator: scaling with synthetic environments",
                   ("command", "T(1) s", "T(10) s", "T(100) s", "ms/env 1→10", "ms/env 1→100", "T(100)/T(1)",
                    "RSS(1) MiB", "RSS(100) MiB", "KiB/env"), rows,
                   ["ms/env N = (T(N) − T(1)) / (N − 1) over medians: what one more environment costs. "
                    "Equal values at 10 and 100 mean a flat, linear cost; T(1) is mostly Python start-up and imports.",
                    f"`check` on 100 environments: {_growth(by, 'check'):.1f}× one (goal ≤ {SCALING_GOAL:.0f}×: "
                    f"{_met(_growth(by, 'check') <= SCALING_GOAL)})."])


def _growth(by: dict[tuple[str, int], Measured], command: str) -> float:
    """T(100) / T(1) from medians."""
    return by[command, 100].seconds.median / by[command, 1].seconds.median


def kubeconform_section(found: list[Comparison] | NotRun | None) -> Section | None:
    """`check` against kubeconform per tree: both times and the median of the pairs' ratios."""
    if found is None:
        return None
    title = "The gate against kubeconform: `gemma-gitops check` and kubeconform on the same tree"
    if isinstance(found, NotRun):
        return Section(title, ("kubeconform",), [[found.reason]], [])
    rows = [[c.label, ", ".join(c.versions), c.check.show(), c.kubeconform.show(), f"{c.ratio:.2f}×",
             _met(c.ratio <= KUBECONFORM_GOAL), str(c.check.runs)] for c in found]
    version = found[0].kubeconform_version if found else ""
    return Section(title, ("project", "Kubernetes versions", "check s", "kubeconform s", "check / kubeconform",
                           f"goal ≤ {KUBECONFORM_GOAL:.0f}×", "pairs"), rows,
                   [f"kubeconform {version}: `-strict`, one run per Kubernetes version, the wheel's Kubernetes "
                    "schemas and the vendored CRD schemas, offline. `check` renders in memory, compares with the "
                    "disk and validates (CEL rules and native checks included). Ratio: the median of the ratios "
                    "of alternating pairs."])


def checks_cost_section(measured: list[Measured]) -> Section | None:
    """validate with and without CEL rules and native checks, per case: what they add."""
    by = {(m.case.label, m.command): m for m in measured}
    rows, worst = [], 0.0
    for label in dict.fromkeys(m.case.label for m in measured):
        full, base = by.get((label, "validate")), by.get((label, SCHEMA_ONLY))
        if full is None or base is None:
            continue
        added = full.seconds.median - base.seconds.median
        worst = max(worst, added / base.seconds.median)
        rows.append([label, base.seconds.show(), full.seconds.show(), f"{added * 1000:+.0f}",
                     f"{added / base.seconds.median:+.0%}", f"{full.rss_mib.median - base.rss_mib.median:+.1f}"])
    if not rows:
        return None
    return Section("Validation: what CEL rules and native checks add",
                   ("project", "--skip cel,native s", "validate s", "added ms", "added", "added RSS MiB"), rows,
                   [f"Worst case: {worst:+.0%} (goal < {CEL_NATIVE_GOAL:.0%}: {_met(worst < CEL_NATIVE_GOAL)}). Whole "
                    "processes: the added time includes importing cel-expr-python and compiling the rules of the "
                    "schemas in use, once per process."])


def load_baseline(path: Path) -> dict[str, Any] | None:
    """A JSON file written by `--json` on an earlier checkout, or None."""
    if not path.is_file():
        return None
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def baseline_section(measured: list[Measured], baseline: dict[str, Any]) -> Section | None:
    """The same cases before (baseline) and now, medians."""
    before = {(b["case"]["label"], b["command"]): b for b in baseline.get("generator", [])}
    rows = []
    for m in measured:
        old = before.get((m.case.label, m.command))
        if old is None:
            continue
        then = summarize([run["seconds"] for run in old["runs"]])
        then_rss = summarize([run["max_rss_kib"] / 1024 for run in old["runs"]])
        rows.append([m.case.label, m.command, then.show(), m.seconds.show(), f"{then.median / m.seconds.median:.2f}×",
                     f"{then_rss.median:.1f}", f"{m.rss_mib.median:.1f}"])
    if not rows:
        return None
    return Section("Generator: before and after the performance fixes",
                   ("project", "command", "before s", "after s", "speed-up", "before MiB", "after MiB"), rows,
                   [f"Before: {baseline.get('note', 'an earlier run')}.",
                    f"`{GATE}`: what `make check` runs in each checkout, one process after the other (before: "
                    "`check`, which only rendered and compared, then `validate`; after: `check` alone, which also "
                    f"validates). `{COLD}`: `check` with an empty cache directory, as on a machine's first run."])


def profile_section(profiles: list[Profile]) -> Section | None:
    """Own time by library at the largest size, and the once-only work at every size."""
    if not profiles:
        return None
    largest = max(p.envs for p in profiles)
    rows = []
    for p in (p for p in profiles if p.envs == largest):
        shares = ", ".join(f"{label} {seconds / p.total:.0%}" for label, seconds in p.groups[:3])
        rows.append([f"{p.command}, {p.envs} envs", f"{p.total:.1f}", shares, p.top[0][0]])
    notes = []
    for label, _ in profiles[0].once:
        counts = ", ".join(f"{p.command}@{p.envs}: {dict(p.once)[label]}" for p in profiles if dict(p.once)[label])
        if counts:
            notes.append(f"{label}: {counts}")
    return Section("Generator: where the time goes (cProfile, own time by library)",
                   ("run", "profiled s", "largest shares", "top function by own time"), rows,
                   ["Profiled time runs 2–4× the wall time (cProfile's overhead falls on Python-level calls).",
                    "Once-only work, calls per process (command@envs), the same at 1 and at 100 environments when "
                    "nothing is redone per environment:", *notes])


# -- proxy -------------------------------------------------------------------------------------


def _met(ok: bool) -> str:
    return "met" if ok else "MISSED"


def proxy_sections(r: ProxyResults) -> list[Section]:
    """Latency, throughput and memory against the goals, before and after issue 21."""
    return [s for s in (latency_section(r), throughput_section(r), metrics_section(r), memory_section(r),
                        worst_memory_section(r)) if s]


def metrics_section(r: ProxyResults) -> Section:
    """Issue 15: the same proxy with metrics on (the default) and off, in the same run."""
    on_ok, off_ok = r.load("after", KEY), r.load("no-metrics", KEY)
    on_bad, off_bad = r.load("after", WRONG_KEY), r.load("no-metrics", WRONG_KEY)
    assert on_ok and off_ok and on_bad and off_bad
    added_on, added_off = r.proxied.median - r.direct.median, r.no_metrics.median - r.direct.median
    ttfb_cost = r.proxied.median / r.no_metrics.median - 1
    rows = [
        ["valid key, req/s", f"{on_ok.rps.median:,.0f}", f"{off_ok.rps.median:,.0f}", f"{r.metrics_cost(KEY):+.1%}"],
        ["wrong key, req/s", f"{on_bad.rps.median:,.0f}", f"{off_bad.rps.median:,.0f}", f"{r.metrics_cost(WRONG_KEY):+.1%}"],
        ["valid key, nginx µs/req", f"{on_ok.cpu_us_per_request['nginx workers']:.1f}",
         f"{off_ok.cpu_us_per_request['nginx workers']:.1f}",
         f"{on_ok.cpu_us_per_request['nginx workers'] / off_ok.cpu_us_per_request['nginx workers'] - 1:+.1%}"],
        ["wrong key, nginx µs/req", f"{on_bad.cpu_us_per_request['nginx workers']:.1f}",
         f"{off_bad.cpu_us_per_request['nginx workers']:.1f}",
         f"{on_bad.cpu_us_per_request['nginx workers'] / off_bad.cpu_us_per_request['nginx workers'] - 1:+.1%}"],
        ["time to first SSE event, median ms", f"{r.proxied.median:.3f}", f"{r.no_metrics.median:.3f}", f"{ttfb_cost:+.1%}"],
    ]
    worker = "nginx workers"
    cpu = [on.cpu_us_per_request[worker] / off.cpu_us_per_request[worker] - 1 for on, off in ((on_ok, off_ok), (on_bad, off_bad))]
    worst = max(*cpu, ttfb_cost)
    notes = [f"The largest cost in worker CPU per request and first-event time: {worst:+.1%} (goal < "
             f"{METRICS_COST_GOAL:.0%}: {_met(worst < METRICS_COST_GOAL)}). CPU per request is what bounds throughput "
             "at the container's CPU limit (req/s = limit / CPU per request); req/s on this shared machine is shown "
             f"too, but swings with other load. The proxy itself adds {added_on:.3f} ms to the first event with "
             f"metrics, {added_off:.3f} ms without.",
             "Both proxies run side by side in the same run, the wrk loads round-robin and the first-event requests "
             "interleaved; nothing scrapes during the loads (a scrape is one small response every 30 s)."]
    return Section("Auth proxy: metrics on against off (issue 15)", ("measure", "metrics on", "metrics off", "cost"),
                   rows, notes)


def _latency_row(label: str, found: Latency) -> list[str]:
    return [label, f"{found.median:.3f}", f"{found.p90:.3f}", f"{found.p99:.3f}"]


def latency_section(r: ProxyResults) -> Section:
    """Time to the first streamed event: straight, through the proxy after and before."""
    added = r.proxied.median - r.direct.median
    rows = [_latency_row("straight to the fake upstream", r.direct),
            _latency_row("through the proxy after (auth.lua gate, limits, header filter)", r.proxied)]
    notes = [f"Added by the proxy: {added:.3f} ms median (goal < {TTFB_ADDED_GOAL_MS} ms: "
             f"{_met(added < TTFB_ADDED_GOAL_MS)}; the seed's configuration added about {SEED_TTFB_ADDED_MS} ms)."]
    if r.before is not None:
        rows.append(_latency_row(f"through the proxy before ({BEFORE_REF})", r.before))
        notes.append(f"Before issue 21 the proxy added {r.before.median - r.direct.median:.3f} ms: issue 21 costs "
                     f"{r.proxied.median - r.before.median:+.3f} ms per streamed request.")
    return Section(f"Auth proxy: time to first SSE event ({r.direct.count} kept-alive requests each, interleaved)",
                   ("path", "median ms", "p90 ms", "p99 ms"), rows, notes)


def throughput_section(r: ProxyResults) -> Section:
    """wrk loads: requests per second and the CPU each process spent per request."""
    s = r.settings
    rows = [[t.scenario.label, t.rps.show("{:,.0f}"), f"{t.requests:,}", str(t.unexpected), str(t.socket_errors),
             *(f"{t.cpu_us_per_request[name]:.1f}" for name in ("nginx workers", "fake upstream", "wrk"))]
            for t in r.throughput]
    worker_us = r.rejected.cpu_us_per_request["nginx workers"]
    notes = [
        f"Valid key through the proxy: {r.authorized_ratio:.0%} of the fake's direct rate at -c{s.wrk_connections} "
        f"(goal ≥ {AUTHORIZED_RATIO_GOAL:.0%}: {_met(r.authorized_ratio >= AUTHORIZED_RATIO_GOAL)}).",
        f"Wrong key: {r.rejected.rps.median:,.0f} req/s (goal > {REJECTED_GOAL_RPS:,}: "
        f"{_met(r.rejected.rps.median > REJECTED_GOAL_RPS)}). The worker spends {worker_us:.1f} µs of CPU on each, "
        f"about {1e6 / worker_us:,.0f} refusals per second for a core of its own.",
    ]
    throttled = r.load("throttled", WRONG_KEY)
    if throttled is not None:
        notes.append(f"With the failed-auth throttle on (the default, 30 a minute per address), a flood from one address "
                     f"gets 429 without a key check: {throttled.rps.median:,.0f} req/s, "
                     f"{throttled.cpu_us_per_request['nginx workers']:.1f} µs of worker CPU each.")
    before_ok, before_wrong = r.load("before", KEY), r.load("before", WRONG_KEY)
    if before_ok is not None and before_wrong is not None:
        notes.append(
            "Before → after, worker CPU per request: valid key "
            f"{before_ok.cpu_us_per_request['nginx workers']:.1f} → {r.authorized.cpu_us_per_request['nginx workers']:.1f} "
            f"µs, wrong key {before_wrong.cpu_us_per_request['nginx workers']:.1f} → {worker_us:.1f} µs; req/s "
            f"{before_ok.rps.median:,.0f} → {r.authorized.rps.median:,.0f} and {before_wrong.rps.median:,.0f} → "
            f"{r.rejected.rps.median:,.0f}.")
    notes += [
        f"At the auth-proxy container's CPU limit ({r.cpu_limit * 1000:.0f}m, the rendered default) that CPU per request "
        f"allows about {r.cpu_limit * 1e6 / r.authorized.cpu_us_per_request['nginx workers']:,.0f} valid or "
        f"{r.cpu_limit * 1e6 / worker_us:,.0f} refused requests per second.",
        "\"After\" runs with its in-flight limits and failed-auth throttle raised out of the way of wrk's 50 connections "
        "(with the default limits most of them would get 429); \"throttled\" is the defaults.",
        "µs/req: CPU time (user + system) of each process over the run, divided by the requests served. On 2 cores "
        "wrk, nginx and the fake compete, so req/s swings with other load; CPU per request does not.",
        "Wrong answers: non-2xx for the valid key, anything but an error for the wrong key.",
    ]
    return Section(
        f"Auth proxy: requests per second (wrk -t{s.wrk_threads} -d{s.wrk_seconds}s GET /v1/models, "
        f"{s.wrk_repeats} run(s), median (min–max))",
        ("load", "req/s", "requests", "wrong answers", "socket errors", "nginx µs/req", "fake µs/req", "wrk µs/req"),
        rows, notes)


def memory_section(r: ProxyResults) -> Section:
    """nginx worker memory idle and with streams open."""
    busy_mib = r.memory.busy_rss / 1024
    return Section(
        f"Auth proxy: nginx worker memory ({r.memory.workers} worker(s), summed)",
        ("state", "RSS MiB", "PSS MiB"),
        [["idle", f"{r.memory.idle_rss / 1024:.1f}", _mib(r.memory.idle_pss)],
         [f"{r.memory.streams} streams open", f"{busy_mib:.1f}", _mib(r.memory.busy_pss)]],
        [f"With {r.memory.streams} open streams: {busy_mib:.1f} MiB RSS (goal < {WORKER_MEMORY_GOAL_MIB} MiB: "
         f"{_met(busy_mib < WORKER_MEMORY_GOAL_MIB)}); the master holds {r.memory.master_rss / 1024:.1f} MiB RSS, "
         "mostly shared with the worker (PSS counts shared pages once across processes)."])


def worst_memory_section(r: ProxyResults) -> Section | None:
    """testkit/proxy_memory.py: the production defaults with every connection and request at its worst."""
    w = r.worst
    if w is None:
        return None
    limits, mib = w["limits"], 1024 * 1024
    rows = [
        ["idle (master + worker, PSS)", "", f"{w['idle']['total_pss'] / mib:.1f}"],
        [f"+ {w['connections_open']:,} connections before authentication, header buffers full",
         f"{w['per_connection'] / 1024:.1f} KiB each", f"{w['with_connections']['total_pss'] / mib:.1f}"],
        [f"+ {w['requests_in_flight']} generation requests in flight, {w['body_bytes'] // 1024} KiB bodies",
         f"{w['per_request'] / 1024:.0f} KiB each", f"{w['with_requests']['total_pss'] / mib:.1f}"],
        ["the model's worst case (render.py proxy_limits)", "", f"{limits['memory_worst_bytes'] / mib:.1f}"],
        ["the container's limit", "", f"{limits['memory_limit_bytes'] / mib:.1f}"],
    ]
    return Section(
        f"Auth proxy: memory at its worst (production defaults: worker_connections {w['worker_connections']:,}, "
        f"{w['requests_in_flight']} requests in flight)",
        ("state", "measured cost", "total MiB"), rows,
        [f"50 connections each sending GET /health with an 8 MiB body grew the worker by "
         f"{w['health_flood_growth'] / mib:.1f} MiB and spooled {w['spooled_files']} files (before issue 21: 6 → 58 "
         "MiB, 42 MiB of deleted temp files).",
         "Measured by testkit/proxy_memory.py in a private network namespace; tests/proxy/test_memory.py holds the "
         "same numbers to the model."])


def _mib(kib: int | None) -> str:
    return f"{kib / 1024:.1f}" if kib is not None else "n/a"


# -- output ------------------------------------------------------------------------------------


def as_text(section: Section) -> str:
    """An aligned plain-text table for the terminal."""
    cells = [list(section.headers), *section.rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(section.headers))]
    lines = [section.title, "-" * len(section.title)]
    for n, row in enumerate(cells):
        aligned = (c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True)))
        lines.append("  ".join(aligned).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    lines.extend(f"  {note}" for note in section.notes)
    return "\n".join(lines) + "\n"


def as_markdown(section: Section) -> str:
    """A Markdown table with its notes as a list."""
    numeric = [all(row[i][:1].isdigit() for row in section.rows) for i in range(len(section.headers))]
    lines = [f"### {section.title}", "", "| " + " | ".join(section.headers) + " |",
             "|" + "|".join(" ---: " if n else " --- " for n in numeric) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in section.rows]
    if section.notes:
        lines.append("")
        lines += [f"- {note}" for note in section.notes]
    return "\n".join(lines) + "\n"


def to_json(measured: list[Measured], proxy: ProxyResults | None, machine: dict[str, str], note: str,
            kubeconform: list[Comparison] | NotRun | None = None, before: list[Measured] | None = None) -> str:
    """Raw results, for a later run's `--baseline`; `before`: what `--before` measured in the same run."""
    compared = asdict(kubeconform) if isinstance(kubeconform, NotRun) else [asdict(c) for c in kubeconform or []]
    data = {"note": note, "machine": machine, "generator": [asdict(m) for m in measured],
            "before": [asdict(m) for m in before or []], "kubeconform": compared,
            "proxy": asdict(proxy) if proxy else None}
    return json.dumps(data, indent=1, ensure_ascii=False) + "\n"
