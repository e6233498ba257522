"""Clients: requests through the proxy, with the key, timed from the client's side and by llama-server's own timings.

Every request is unique from its first token on, so llama-server's prompt cache never saves a
prompt's processing; every request generates exactly its `max_tokens` (`ignore_eos`), so runs are
comparable whatever the model would have said.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from testkit.proxy_client import bearer, opened, read_events

REQUEST_SECONDS = 600.0  # a socket that waits longer than this is stuck, not slow
VOCAB_FLOOR = 1_000  # prompt token ids are drawn above the special and byte tokens
VOCAB_SPAN = 200_000  # ... and below Gemma 3's 262,144


class LoadError(RuntimeError):
    """A request was refused or answered wrongly: the measurement would be meaningless."""


@dataclass(frozen=True)
class Timings:
    """llama-server's own `timings` of one request (server-context.cpp server_slot_stats::to_json)."""

    prompt_n: int
    prompt_ms: float
    predicted_n: int
    predicted_ms: float

    @property
    def prompt_per_second(self) -> float:
        return self.prompt_n / self.prompt_ms * 1000 if self.prompt_ms else 0.0

    @property
    def predicted_per_second(self) -> float:
        return self.predicted_n / self.predicted_ms * 1000 if self.predicted_ms else 0.0


@dataclass(frozen=True)
class Streamed:
    """One streamed chat completion as the client saw it (time.monotonic seconds) and as the server timed it."""

    client: int
    sent: float
    tokens: tuple[float, ...]  # arrival of each event carrying generated content
    done: float
    timings: Timings

    @property
    def ttft(self) -> float:
        """Seconds from sending to the first generated token: queueing, prompt processing, first decode."""
        return self.tokens[0] - self.sent

    @property
    def decode_per_second(self) -> float:
        """Tokens per second this client saw after its first token."""
        span = self.tokens[-1] - self.tokens[0]
        return (self.timings.predicted_n - 1) / span if span > 0 else 0.0


def timings_of(data: dict[str, Any]) -> Timings:
    t = data["timings"]
    return Timings(int(t["prompt_n"]), float(t["prompt_ms"]), int(t["predicted_n"]), float(t["predicted_ms"]))


def token_prompt(seed: int, length: int) -> list[int]:
    """`length` token ids, a deterministic sequence unique to `seed` from its first token."""
    state, out = seed * 2_654_435_761 + 1, []
    for _ in range(length):
        state = (state * 6_364_136_223_846_793_005 + 1_442_695_040_888_963_407) % 2**64
        out.append(VOCAB_FLOOR + (state >> 33) % VOCAB_SPAN)
    return out


PARAGRAPH = ("Summarise the following notes for a colleague who missed the meeting, in plain words and short "
             "sentences. The team reviewed the rollout of the new build to the staging cluster, the memory limits "
             "of the model server, the time the first request takes after a restart, the proxy in front of it and "
             "the keys it accepts, how many people can use one pod at once, and what to measure before the next "
             "release. Everyone agreed to keep the defaults unless a measurement says otherwise, to write down the "
             "machine every number came from, and to repeat any run that overlapped other work on the same cores.")


def chat_body(alias: str, seed: int, max_tokens: int) -> bytes:
    """A streaming chat request, unique from its first words, that generates exactly `max_tokens`."""
    text = f"Note {seed}. {PARAGRAPH}"
    return json.dumps({"model": alias, "messages": [{"role": "user", "content": text}], "max_tokens": max_tokens,
                       "temperature": 0, "ignore_eos": True, "stream": True}).encode()


def completion_body(alias: str, prompt: list[int], max_tokens: int) -> bytes:
    """A non-streaming completion over exact prompt tokens, generating exactly `max_tokens`."""
    return json.dumps({"model": alias, "prompt": prompt, "max_tokens": max_tokens, "temperature": 0,
                       "ignore_eos": True}).encode()


def headers() -> list[tuple[str, str]]:
    from bench.serving.stack import KEY

    return [*bearer(KEY), ("Content-Type", "application/json")]


def refused(status: int, body: bytes) -> LoadError:
    return LoadError(f"the proxy or llama-server answered {status}: {body[:300]!r}; if the proxy refused it, raise its "
                     "limit in bench/serving/values.yaml")


def complete(port: int, body: bytes) -> Timings:
    """One non-streaming /v1/completions; llama-server's timings of it."""
    with opened(port, "POST", "/v1/completions", headers(), body, timeout=REQUEST_SECONDS) as response:
        data = response.read()
        if response.status != 200:
            raise refused(response.status, data)
    return timings_of(json.loads(data))


def stream(port: int, client: int, body: bytes) -> Streamed:
    """One streaming /v1/chat/completions, each generated token's arrival time recorded."""
    tokens: list[float] = []
    final: dict[str, Any] | None = None
    sent = time.monotonic()
    with opened(port, "POST", "/v1/chat/completions", headers(), body, timeout=REQUEST_SECONDS) as response:
        if response.status != 200:
            raise refused(response.status, response.read())
        for at, line in read_events(response):
            if line == b"data: [DONE]":
                break
            event = json.loads(line.removeprefix(b"data: "))
            if event.get("choices") and event["choices"][0]["delta"].get("content") is not None:
                tokens.append(at)
            if "timings" in event:
                final = event
    if final is None or not tokens:
        raise LoadError("a stream ended without tokens or timings")
    return Streamed(client, sent, tuple(tokens), time.monotonic(), timings_of(final))


def run_clients(clients: int, requests_each: int, send: Callable[[int, int], Streamed]) -> list[Streamed]:
    """`clients` threads, each sending `requests_each` requests one after the other; all start together."""
    start = threading.Barrier(clients)
    results: list[list[Streamed]] = [[] for _ in range(clients)]
    errors: list[BaseException] = []

    def client(index: int) -> None:
        start.wait()
        try:
            for n in range(requests_each):
                results[index].append(send(index, n))
        except BaseException as err:  # reported below, on the caller's thread
            errors.append(err)

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(REQUEST_SECONDS * requests_each)
    if errors:
        raise errors[0]
    if any(thread.is_alive() for thread in threads):
        raise LoadError("a client did not finish in time")
    return [r for per_client in results for r in per_client]
