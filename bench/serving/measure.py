"""From timed requests to the numbers in the tables: throughput in the steady window, latency percentiles."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from bench.serving.load import Streamed
from bench.stats import percentile


@dataclass(frozen=True)
class LoadPoint:
    """One run of `clients` closed-loop clients against `parallel` slots."""

    parallel: int
    clients: int
    requests: int
    window_seconds: float
    generation_tps: float  # all clients together, in the window where every client was busy
    prompt_tps: float  # prompt tokens processed per second in the same window
    per_client_tps: float  # median over requests of what one client saw after its first token
    ttft_p50: float  # seconds
    ttft_p95: float
    prompt_tokens: int  # median prompt length, as llama-server counted it (chat template included)
    slot_prompt_tps: float  # median over requests of llama-server's prompt_n / prompt_ms


def steady_window(results: Sequence[Streamed]) -> tuple[float, float]:
    """From the first request sent to the moment the first client finished its last request: every
    client is busy in between (closed loop), so the window measures the pod at this concurrency."""
    clients = {r.client for r in results}
    last_done = [max(r.done for r in results if r.client == c) for c in clients]
    return min(r.sent for r in results), min(last_done)


def tokens_within(result: Streamed, start: float, end: float) -> float:
    """Generated tokens of a request that arrived in [start, end]; each event weighs predicted_n / events,
    so a token the server sent in an event of its own counts the same as several merged into one."""
    weight = result.timings.predicted_n / len(result.tokens)
    return weight * sum(1 for at in result.tokens if start <= at <= end)


def load_point(parallel: int, clients: int, results: Sequence[Streamed]) -> LoadPoint:
    """The table row of one run."""
    start, end = steady_window(results)
    span = end - start
    generated = sum(tokens_within(r, start, end) for r in results)
    prompts = sum(r.timings.prompt_n for r in results if start <= r.tokens[0] <= end)
    ttft = [r.ttft for r in results]
    return LoadPoint(parallel, clients, len(results), span, generated / span, prompts / span,
                     statistics.median(r.decode_per_second for r in results), percentile(ttft, 0.50),
                     percentile(ttft, 0.95), round(statistics.median(r.timings.prompt_n for r in results)),
                     statistics.median(r.timings.prompt_per_second for r in results))


def median_point(points: Sequence[LoadPoint]) -> LoadPoint:
    """The median of each number over repeated runs of the same cell."""
    first = points[0]

    def med(name: str) -> float:
        return float(statistics.median(getattr(p, name) for p in points))

    return LoadPoint(first.parallel, first.clients, sum(p.requests for p in points), med("window_seconds"),
                     med("generation_tps"), med("prompt_tps"), med("per_client_tps"), med("ttft_p50"), med("ttft_p95"),
                     round(med("prompt_tokens")), med("slot_prompt_tps"))


def saturation(points: Sequence[LoadPoint], gain: float = 0.05) -> int:
    """The fewest clients whose aggregate throughput is within `gain` of the most any client count reached: more
    clients add less than that. (Not the first step that adds little: two slots can be slower than one, four faster.)"""
    best = max(p.generation_tps for p in points)
    return min(p.clients for p in points if p.generation_tps >= best / (1 + gain))
