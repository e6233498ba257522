"""The serving benchmark's tables and reading, from its measurements."""

from __future__ import annotations

import copyreg
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from bench.report import Section
from bench.serving.bandwidth import Bandwidth
from bench.serving.measure import saturation
from bench.serving.series import (
    GENERATION_PROMPT,
    GENERATION_TOKENS,
    LOAD_TOKENS,
    PROMPT_TOKENS,
    RETRIES,
    Cell,
    Quiet,
    SweepPoint,
)
from bench.serving.watch import QUIET_CORES
from bench.serving.weights import Weights
from generator.capacity import serving
from generator.capacity.budget import LlamaSettings
from generator.capacity.quantity import MiB

WITHIN = 0.05  # the defaults must be within 5 % of the best configuration found


def _mapping(items: dict[str, object]) -> MappingProxyType[str, object]:
    """A read-only mapping again, from its items (the plan's values are kept as MappingProxyType)."""
    return MappingProxyType(items)


# Results hold rendered plans, whose values are MappingProxyType: pickle (--state) cannot by default.
copyreg.pickle(MappingProxyType, lambda m: (_mapping, (dict(m),)))


@dataclass
class Results:
    """Everything one run of the serving benchmark measured."""

    facts: dict[str, str]
    weights: Weights
    bandwidth: list[Bandwidth] = field(default_factory=list)
    sweep: list[SweepPoint] = field(default_factory=list)
    batches: list[SweepPoint] = field(default_factory=list)
    matrix: list[Cell] = field(default_factory=list)  # the reference CPU limit, every clients x slots cell
    diagonal: list[Cell] = field(default_factory=list)  # other CPU limits, clients = slots


def repeated(quiet: Sequence[Quiet]) -> str:
    """`0`, or how many runs were repeated for other load, and `noisy` when the last one still was."""
    again = sum(q.attempts - 1 for q in quiet)
    noisy = [q for q in quiet if not q.watched.quiet]
    worst = max(q.watched.others_cores for q in quiet)
    text = f"{again}" + (f", {len(noisy)} noisy" if noisy else "")
    return f"{text} ({worst:.2f})"


# -- bytes per token and bandwidth -------------------------------------------------------------


def token_bytes(w: Weights, settings: LlamaSettings, position: int) -> tuple[int, int]:
    """(from the tensors, by the rule from the file size) bytes one token reads at `position`."""
    g = serving.measured_geometry()
    kv = serving.kv_read_bytes(g, settings, position)
    return w.read_per_token + kv, serving.bytes_per_token(g, settings, position)


def generation_at(results: Results, cores: float) -> float | None:
    """Single-stream generation tokens/s at `cores`: the sweep's defaults row, else the 1-slot 1-client cell."""
    for cell in (*results.matrix, *results.diagonal):
        if cell.cores == cores and cell.point.parallel == 1 and cell.point.clients == 1:
            return cell.point.per_client_tps
    return None


def bandwidth_section(results: Results) -> Section:
    """Copy and read bandwidth per quota, the decoding bound they imply, and how close generation comes."""
    exact, _ = token_bytes(results.weights, serving.MEASURED.settings, serving.MEASURED.position)
    rows = []
    for b in results.bandwidth:
        bound, typical = b.read_best * 1e9 / exact, b.read.median * 1e9 / exact
        tps = generation_at(results, b.cores)
        rows.append([f"{b.cores:g}", str(b.threads), f"{b.copy_best:.1f}", b.copy.show("{:.1f}"), f"{b.read_best:.1f}",
                     b.read.show("{:.1f}"), f"{bound:.0f} ({typical:.0f})", f"{tps:.1f}" if tps else "n/a",
                     f"{tps / bound:.0%} ({tps / typical:.0%})" if tps else "n/a"])
    return Section(
        "Serving: memory bandwidth under the CPU quota, and generation against it",
        ("CPU limit (cores)", "threads", "copy GB/s best", "copy GB/s median (min–max)", "read GB/s best",
         "read GB/s median (min–max)", "bound tok/s: read best (median) ÷ bytes/token", "generation tok/s, 1 stream",
         "of the bound (of the median's)"), rows,
        [f"Bytes read per generated token: {exact / 1e6:.1f} MB (the GGUF's tensors, {results.weights.tensor_bytes / 1e6:.1f} "
         f"MB, all read: the output layer is the tied {results.weights.embedding_bytes / 1e6:.1f} MB token embedding; plus "
         f"{(exact - results.weights.read_per_token) / 1e6:.1f} MB of f16 KV cells at position "
         f"{serving.MEASURED.position}, llama.cpp reading at least 256 cells of each layer).",
         "GB = 10^9 bytes. Copy counts read + write (STREAM's convention), read counts what is read; the best of "
         f"{results.bandwidth[0].copy.runs if results.bandwidth else 0} repetitions is STREAM's figure, median and range "
         "show the spread.",
         "Generation is the median decode rate one client saw, streaming through the proxy (the 1-slot, 1-client "
         "cell of the tables below)."])


# -- the defaults sweep ------------------------------------------------------------------------


def knobs(point: SweepPoint) -> tuple[int, int, str, str]:
    """(threads, ubatch, flash attention, cache type) of a sweep point."""
    llama = point.rendered.plan.spec.llama
    return llama.threads, llama.ubatch_size, point.config.flags.get("--flash-attn", "on"), llama.cache_type_k


def is_default(point: SweepPoint, defaults: tuple[int, int, str, str]) -> bool:
    return knobs(point) == defaults


def sweep_section(results: Results, defaults: tuple[int, int, str, str]) -> Section:
    """Every configuration of the sweep against the best prompt and generation throughput found."""
    best_pp = max(p.prompt_tps.median for p in results.sweep)
    best_tg = max(p.generation_tps.median for p in results.sweep)
    rows = []
    for p in results.sweep:
        threads, ubatch, flash, cache = knobs(p)
        mark = " (rendered default)" if is_default(p, defaults) else ""
        rows.append([f"{threads}{mark}", str(ubatch), flash, cache, p.prompt_tps.show("{:.0f}"),
                     f"{p.prompt_tps.median / best_pp:.0%}", p.generation_tps.show("{:.1f}"),
                     f"{p.generation_tps.median / best_tg:.0%}", f"{p.peak_rss / MiB:.0f}",
                     f"{p.rendered.budget_bytes / MiB:.0f}" if flash == "on" else "n/a", repeated(p.quiet)])
    return Section(
        f"Serving: defaults sweep at the reference CPU limit ({len(results.sweep)} configurations)",
        ("threads", "ubatch", "flash-attn", "KV cache", "prompt tok/s", "of best", "generation tok/s", "of best",
         "peak RSS MiB", "budget MiB", "runs repeated (worst others' cores)"), rows,
        sweep_notes(results, defaults))


def sweep_notes(results: Results, defaults: tuple[int, int, str, str]) -> list[str]:
    """Where the defaults stand: against the best overall and the best at no more memory."""
    [default] = [p for p in results.sweep if is_default(p, defaults)]
    notes = []
    for name, attr in (("prompt", "prompt_tps"), ("generation", "generation_tps")):
        best = max(results.sweep, key=lambda p: getattr(p, attr).median)
        lean = [p for p in results.sweep if p.peak_rss <= default.peak_rss * 1.01]
        best_lean = max(lean, key=lambda p: getattr(p, attr).median)
        ratio = getattr(default, attr).median / getattr(best_lean, attr).median
        notes.append(f"{name.capitalize()}: the rendered defaults reach {ratio:.1%} of the best configuration at no more "
                     f"memory ({best_lean.config.label}) — {'within' if ratio >= 1 - WITHIN else 'NOT within'} "
                     f"{WITHIN:.0%}; the best overall is {best.config.label} "
                     f"({getattr(best, attr).median:.1f} tok/s, peak RSS {best.peak_rss / MiB:.0f} MiB).")
    notes += [f"Prompt: a {PROMPT_TOKENS}-token prompt, 1 token generated (llama-server's prompt_per_second). "
              f"Generation: {GENERATION_TOKENS} tokens after a {GENERATION_PROMPT}-token prompt (predicted_per_second). "
              "Non-streaming /v1/completions through the proxy, "
              "token-id prompts unique from the first token (no prompt-cache reuse), `ignore_eos`.",
              "At no more memory: peak RSS (VmHWM after the runs) at most 1 % above the defaults'. ubatch below 512 also "
              "caps /v1/embeddings inputs at ubatch tokens (llama-server embeds an input in one ubatch), which the "
              "reference deployment serves up to 512 tokens (values/prod.yaml).",
              "Flash attention off: llama.cpp refuses a quantized V cache without it, so q8_0 is measured with it on "
              "only; the budget assumes it on (no budget for off).",
              f"Runs repeated: a run during which other processes used {QUIET_CORES} cores or more ran again (up to "
              f"{RETRIES} times; niced user time not counted, bench/serving/watch.py); "
              "in brackets the most other processes used during a kept run."]
    return notes


def batch_section(results: Results) -> Section | None:
    """Prompt processing as the batch grows: how far batching lifts it above the unbatched floor."""
    if not results.batches:
        return None
    floor = min(results.batches, key=lambda p: p.rendered.plan.spec.llama.ubatch_size if not p.config.flags
                else int(p.config.flags["--ubatch-size"]))
    peak = max(p.prompt_tps.median for p in results.batches)
    rows = []
    for p in results.batches:
        size = int(p.config.flags.get("--ubatch-size", p.rendered.plan.spec.llama.ubatch_size))
        rows.append([str(size), p.prompt_tps.show("{:.0f}"), f"{p.prompt_tps.median / floor.prompt_tps.median:.1f}×",
                     f"{p.prompt_tps.median / peak:.0%}", repeated(p.quiet)])
    return Section("Serving: prompt processing against batch size (defaults otherwise)",
                   ("batch = ubatch", "prompt tok/s", "vs batch 2", "of the peak", "runs repeated"), rows,
                   ["The package ships no llama-bench (the build makes llama-server only), so the peak of the same "
                    "kernels is measured on the same server: batch 2 is the unbatched floor (llama-server b11434 aborts "
                    "with batch 1: common_context_can_seq_rm evaluates two tokens at start), 512 the rendered default."])


# -- clients x slots ----------------------------------------------------------------------------


def matrix_section(cells: Sequence[Cell], title: str) -> Section:
    """Aggregate and per-client throughput and time to first token, per slots and clients."""
    rows = []
    for c in cells:
        p = c.point
        rows.append([f"{c.cores:g}", str(p.parallel), str(p.clients), c.spread("generation_tps"),
                     c.spread("per_client_tps"), c.spread("ttft_p50", "{:.2f}"), c.spread("ttft_p95", "{:.2f}"),
                     f"{p.prompt_tps:.0f}", f"{p.slot_prompt_tps:.0f}",
                     str(p.prompt_tokens), str(p.requests), repeated(c.quiet)])
    notes = []
    for parallel in sorted({c.point.parallel for c in cells}):
        points = [c.point for c in cells if c.point.parallel == parallel]
        if len(points) > 1:
            notes.append(f"--parallel {parallel}: {saturation(points)} client(s) reach within 5 % of the most aggregate "
                         "generation any client count reached; more only wait longer for their first token.")
    notes += ["Each client streams /v1/chat/completions through the proxy, one request after another (closed loop), "
              f"{LOAD_TOKENS} tokens each (`ignore_eos`); aggregate = tokens that arrived in the window where every client was "
              "busy (first request sent → first client done) ÷ its length; per client = median over requests of the "
              "decode rate after the first token; time to first token includes waiting for a free slot.",
              "prompt tok/s: prompt tokens of the requests whose first token fell in the window ÷ its length; per slot: "
              "median of llama-server's prompt_n / prompt_ms. Medians of the runs (`--rounds`, 3 by default), "
              "their range in brackets."]
    return Section(title, ("CPU limit (cores)", "--parallel", "clients", "aggregate tok/s", "per client tok/s",
                           "TTFT p50 s", "TTFT p95 s", "prompt tok/s", "per slot prompt tok/s", "prompt tokens",
                           "requests", "runs repeated"),
                   rows, notes)


def curves_section(results: Results) -> Section:
    """The measured per-stream rates next to the ones generator/capacity/serving.py holds for `budget`."""
    rows = []
    for c in sorted((c for c in (*results.matrix, *results.diagonal) if c.point.parallel == c.point.clients),
                    key=lambda c: (c.cores, c.point.parallel)):
        committed = serving.per_stream(serving.MEASURED, c.cores, c.point.parallel)
        rows.append([f"{c.cores:g}", str(c.point.parallel), f"{c.point.per_client_tps:.1f}",
                     f"{c.point.generation_tps:.1f}", f"{committed:.1f}",
                     f"{c.point.per_client_tps / committed - 1:+.0%}"])
    return Section("Serving: users per pod, the curves `budget` uses (clients = --parallel)",
                   ("CPU limit (cores)", "streams", "per stream tok/s", "aggregate tok/s",
                    "in generator/capacity/serving.py", "this run vs committed"), rows,
                   [f"`budget` reads MEASURED ({serving.MEASURED.label}) and scales it to the configured model by bytes "
                    "read per token; update it from this table when the numbers move by more than a few percent."])


def sections(results: Results, defaults: tuple[int, int, str, str], reference_cores: float) -> list[Section]:
    """Every table that has numbers behind it."""
    out: list[Section | None] = []
    if results.bandwidth:
        out.append(bandwidth_section(results))
    if results.sweep:
        out.append(sweep_section(results, defaults))
    out.append(batch_section(results))
    if results.matrix:
        out.append(matrix_section(results.matrix, f"Serving: clients x slots at the reference CPU limit "
                                                  f"({reference_cores:g} cores)"))
    if results.diagonal:
        out.append(matrix_section(results.diagonal, "Serving: clients = slots at smaller CPU limits"))
    if results.matrix or results.diagonal:
        out.append(curves_section(results))
    return [s for s in out if s is not None]
