"""The measured series: the defaults sweep, the clients x slots matrix; each repeated, each watched for other load.

A run that overlapped other work (others used a tenth of a core or more, bench/serving/watch.py)
is run again, up to RETRIES times; the tables say how many runs were repeated and flag any that
stayed noisy.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from bench.serving import load
from bench.serving.load import Streamed, Timings
from bench.serving.measure import LoadPoint, load_point, median_point
from bench.serving.stack import Config, Rendered, Running, render, serving
from bench.serving.watch import Watch, Watched, wait_for_quiet
from bench.stats import Summary, summarize
from generator.settings import Settings
from testkit.nginx import Runtime

T = TypeVar("T")
Progress = Callable[[str], None]

RETRIES = 3
PROMPT_TOKENS = 1024  # the prompt-processing request: two ubatches of 512, eight of 128
GENERATION_PROMPT = 32  # the generation request: a short prompt, then
GENERATION_TOKENS = 64  # ... this many tokens
LOAD_TOKENS = 64  # each chat request of the load runs generates this many
THREADS = (1, 2)
UBATCHES = (128, 256, 512)
FLASH = ("on", "off")
CACHE_TYPES = ("f16", "q8_0")

_seeds = itertools.count(1)


@dataclass(frozen=True)
class Bed:
    """What every run shares: nginx, llama-server, the model file, scratch space, the rendering project."""

    runtime: Runtime
    binary: Path
    model: Path
    scratch: Path
    settings: Settings
    alias: str


@dataclass(frozen=True)
class Quiet:
    """The result of a run that was repeated until the machine was quiet, or RETRIES ran out."""

    watched: Watched
    attempts: int


def quietly(run: Callable[[], tuple[T, Watched]], label: str, progress: Progress) -> tuple[T, Quiet]:
    """`run` again while others used the CPU during it, at most RETRIES more times; the last result counts."""
    for attempt in range(1, RETRIES + 2):
        wait_for_quiet(progress)
        result, watched = run()
        if watched.quiet or attempt == RETRIES + 1:
            return result, Quiet(watched, attempt)
        progress(f"{label}: others used {watched.others_cores:.2f} cores (load {watched.load_after}); running it again")
    raise AssertionError("unreachable")


# -- the defaults sweep ------------------------------------------------------------------------


def sweep_config(threads: int, ubatch: int, flash: str, cache: str, cores: float) -> Config:
    """One point of the sweep, at `cores` of CPU limit."""
    return Config(f"threads {threads}, ubatch {ubatch}, flash-attn {flash}, cache {cache}",
                  {"llama.threads": threads, "llama.ubatchSize": ubatch, "llama.cacheTypeK": cache,
                   "llama.cacheTypeV": cache, "llama.resources.limits.cpu": _cpu(cores)},
                  {"--flash-attn": flash} if flash != "on" else {})


def _cpu(cores: float) -> str:
    """A CPU quantity: 2 → "2", 1.5 → "1500m"."""
    return str(int(cores)) if float(cores).is_integer() else f"{round(cores * 1000)}m"


def sweep_configs(cores: float) -> list[Config]:
    """threads 1..limit x ubatch x flash attention x cache type; llama.cpp refuses a quantized V cache
    without flash attention ("V cache quantization requires flash_attn"), so that pair is left out."""
    return [sweep_config(t, u, f, c, cores) for t in THREADS if t <= math.ceil(cores) for u in UBATCHES
            for f in FLASH for c in CACHE_TYPES if not (f == "off" and c != "f16")]


SCHEMA_MIN_BATCH = 32
# llama-server b11434 aborts with a batch of 1: at start it evaluates two tokens in one batch
# (common/common.cpp common_context_can_seq_rm, "eval 2 tokens to check if the context is compatible").
SMALLEST_BATCH = 2


def batch_config(size: int, cores: float) -> Config:
    """The rendered defaults with prompts processed `size` tokens per batch (below the schema's minimum
    through BENCH_SUBSTITUTIONS): how far batching lifts prompt processing above the unbatched floor."""
    changes: dict[str, object] = {"llama.resources.limits.cpu": _cpu(cores)}
    if size >= SCHEMA_MIN_BATCH:
        return Config(f"batch {size} (defaults otherwise)", {**changes, "llama.ubatchSize": size,
                                                              "llama.batchSize": size})
    return Config(f"batch {size} (defaults otherwise)", changes, {"--batch-size": str(size), "--ubatch-size": str(size)})


@dataclass(frozen=True)
class SweepPoint:
    """One configuration's prompt and generation throughput (llama-server's timings), and its memory."""

    rendered: Rendered
    prompt_tps: Summary
    generation_tps: Summary
    peak_rss: int  # bytes, VmHWM after the runs
    quiet: tuple[Quiet, ...]  # one per round

    @property
    def config(self) -> Config:
        return self.rendered.config


def timed_requests(running: Running, alias: str, repeats: int) -> tuple[list[Timings], list[Timings]]:
    """`repeats` prompt-processing and generation requests, alternating."""
    prompt, generation = [], []
    for _ in range(repeats):
        prompt.append(load.complete(running.port, load.completion_body(
            alias, load.token_prompt(next(_seeds), PROMPT_TOKENS), 1)))
        generation.append(load.complete(running.port, load.completion_body(
            alias, load.token_prompt(next(_seeds), GENERATION_PROMPT), GENERATION_TOKENS)))
    return prompt, generation


def one_config(bed: Bed, rendered: Rendered, repeats: int) -> tuple[tuple[list[Timings], list[Timings], int], Watched]:
    """Start the configuration, warm it up, time `repeats` of each request, watched."""
    with serving(rendered, bed.runtime, bed.binary, bed.model, bed.scratch) as running:
        timed_requests(running, bed.alias, 1)  # warm-up: the first requests page in the weights
        watch = Watch(lambda: running.pids)
        prompt, generation = timed_requests(running, bed.alias, repeats)
        watched = watch.stop()
        return (prompt, generation, running.llama.peak_rss_bytes()), watched


def run_sweep(bed: Bed, configs: Sequence[Config], rounds: int, repeats: int, progress: Progress) -> list[SweepPoint]:
    """Every configuration `rounds` times, round-robin, `repeats` requests of each kind a time."""
    rendered = [render(c, bed.settings) for c in configs]
    samples: dict[int, tuple[list[float], list[float], list[int], list[Quiet]]] = {
        i: ([], [], [], []) for i in range(len(configs))}
    for r in range(rounds):
        for i, item in enumerate(rendered):
            progress(f"sweep round {r + 1}/{rounds}, {i + 1}/{len(rendered)}: {item.config.label}")
            (prompt, generation, rss), quiet = quietly(lambda item=item: one_config(bed, item, repeats),  # type: ignore[misc]
                                                       item.config.label, progress)
            samples[i][0].extend(t.prompt_per_second for t in prompt)
            samples[i][1].extend(t.predicted_per_second for t in generation)
            samples[i][2].append(rss)
            samples[i][3].append(quiet)
    return [SweepPoint(item, summarize(samples[i][0]), summarize(samples[i][1]), max(samples[i][2]),
                       tuple(samples[i][3])) for i, item in enumerate(rendered)]


# -- clients x slots -----------------------------------------------------------------------------


def load_config(parallel: int, cores: float) -> Config:
    """The rendered defaults with `parallel` slots, at `cores` of CPU limit and as many threads."""
    return Config(f"parallel {parallel}, {_cpu(cores)} cores",
                  {"llama.parallel": parallel, "llama.threads": math.ceil(cores),
                   "llama.resources.limits.cpu": _cpu(cores)})


@dataclass(frozen=True)
class Cell:
    """One (slots, clients) cell: the median of its rounds, and how quiet each round was."""

    cores: float
    point: LoadPoint
    quiet: tuple[Quiet, ...]
    runs: tuple[LoadPoint, ...] = ()  # each round's numbers, for the spread

    def spread(self, name: str, fmt: str = "{:.1f}") -> str:
        """`median (min–max)` of one number over the rounds; the median alone after one round."""
        values = [float(getattr(p, name)) for p in self.runs]
        text = fmt.format(getattr(self.point, name))
        return text + (f" ({fmt.format(min(values))}–{fmt.format(max(values))})" if len(values) > 1 else "")


def requests_each(clients: int) -> int:
    """Enough requests per client that every cell sees at least 8, and every client at least 2."""
    return max(2, math.ceil(8 / clients))


def one_load(running: Running, alias: str, parallel: int, clients: int) -> tuple[LoadPoint, Watched]:
    """`clients` closed-loop clients streaming chat completions, watched."""
    def send(client: int, _: int) -> Streamed:
        return load.stream(running.port, client, load.chat_body(alias, next(_seeds), LOAD_TOKENS))

    watch = Watch(lambda: running.pids)
    results = load.run_clients(clients, requests_each(clients), send)
    return load_point(parallel, clients, results), watch.stop()


def warm_up(running: Running, alias: str, parallel: int) -> None:
    """One short stream on every slot at once: the first requests page in the weights and build graphs."""
    load.run_clients(parallel, 1, lambda client, _: load.stream(running.port, client, load.chat_body(
        alias, next(_seeds), 8)))


def run_matrix(bed: Bed, cores: float, parallels: Sequence[int], clients: Sequence[int] | None, rounds: int,
               progress: Progress) -> list[Cell]:
    """For each slot count, each client count (None: as many clients as slots), `rounds` runs; medians."""
    cells = []
    for parallel in parallels:
        rendered = render(load_config(parallel, cores), bed.settings)
        with serving(rendered, bed.runtime, bed.binary, bed.model, bed.scratch) as running:
            warm_up(running, bed.alias, parallel)
            for count in clients or (parallel,):
                points, quiet = [], []
                for r in range(rounds):
                    label = f"{_cpu(cores)} cores, parallel {parallel}, {count} clients, run {r + 1}/{rounds}"
                    progress(label)
                    point, q = quietly(lambda count=count, parallel=parallel: one_load(  # type: ignore[misc]
                                           running, bed.alias, parallel, count),
                                       label, progress)
                    points.append(point)
                    quiet.append(q)
                cells.append(Cell(cores, median_point(points), tuple(quiet), tuple(points)))
    return cells


def spread(values: Sequence[float]) -> str:
    """`median (min–max)` of a few values."""
    return f"{statistics.median(values):.1f} ({min(values):.1f}–{max(values):.1f})"
