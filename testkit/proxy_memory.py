"""The auth proxy's memory at its worst, measured in real nginx with bounded loops.

`python -m testkit.proxy_memory` runs the rendered proxy (production defaults: one worker, the
64Mi limit, worker_connections and the in-flight limits derived from it) in front of the fake
llama-server and prints JSON: the idle size, a client connection at its worst before authentication
(every header buffer full, the request never finished), a generation request in flight at its worst
(the largest body checked, its stream held open upstream), everything at once, and what a flood of
unauthenticated bodies on the probe path costs. tests/proxy/test_memory.py runs it in a private
network namespace (so thousands of loopback connections disturb nobody) and checks the numbers
against generator/render.py's memory model; `make bench` prints them. Metrics are on (the default);
the same proxy with metrics off, idle, gives what the shared dictionary and metrics.lua cost, and a
scrape of /metrics with every connection and request at its worst gives what an exposition adds.
"""

from __future__ import annotations

import json
import socket
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from generator.plan import ProxyLimits, build_plan
from generator.render import PROXY_RUN_DIR
from generator.settings import Settings
from generator.values import Layer, load_schema, merge_layers, schema_defaults
from testkit.fake_llama import FakeLlama
from testkit.nginx import PROJECT_ROOT, Proxy, Runtime, find_runtime, running_proxy, values_for

KEY_COUNT = 64  # one key and one client address per request in flight, so no per-key limit stops them
HEADER_LINE = 4000  # just under large_client_header_buffers' 4k: each line takes a buffer of its own
SETTLE_SECONDS = 0.5  # for nginx to allocate for what it has read, before it is measured
WAIT_SECONDS = 60.0  # for nginx to close or read connections on a loaded machine
MiB = 1024 * 1024
# /proc/net/tcp states in which nginx still holds the connection (a worker_connections slot)
HELD_STATES = {"01": "ESTABLISHED", "08": "CLOSE_WAIT"}


@dataclass(frozen=True)
class Sample:
    """Memory of the nginx processes: the worker's RSS and the master's and worker's PSS, in bytes."""

    worker_rss: int
    total_pss: int


@dataclass(frozen=True)
class Measured:
    """What the probe found; bytes throughout."""

    worker_connections: int
    requests_in_flight: int
    body_bytes: int
    idle: Sample
    connections_open: int
    with_connections: Sample
    with_requests: Sample
    per_connection: int
    per_request: int
    health_flood_connections: int
    health_flood_growth: int
    spooled_files: int
    idle_without_metrics: Sample
    with_scrape: Sample  # everything at once, right after a scrape of /metrics and of llama-server's
    metrics_cost: int  # idle with metrics on less idle with them off, plus the scrape's growth
    limits: dict[str, Any]


def kib_field(path: str, name: str) -> int:
    for line in Path(path).read_text().splitlines():
        if line.startswith(f"{name}:"):
            return int(line.split()[1]) * 1024
    raise LookupError(f"{name} not in {path}")


def sample(proxy: Proxy) -> Sample:
    master, *workers = proxy.pids()
    return Sample(sum(kib_field(f"/proc/{w}/status", "VmRSS") for w in workers),
                  sum(kib_field(f"/proc/{p}/smaps_rollup", "Pss") for p in (master, *workers)))


def default_limits() -> tuple[dict[str, Any], ProxyLimits]:
    """The proxy values the probe runs with (the defaults), and what the plan derives from them."""
    schema = load_schema(Settings(root=PROJECT_ROOT))
    layers = [Layer("(schema defaults)", schema_defaults(schema) or {}), Layer("(probe)", values_for(8080, 8000))]
    plan = build_plan(merge_layers("probe", "values/probe.yaml", layers, schema))
    return plan.values.data["proxy"], plan.proxy_limits


def keys() -> list[str]:
    return [f"sk-gemma-memory-{i:03d}-0123456789abcdef" for i in range(KEY_COUNT)]


def unfinished_headers(port: int) -> socket.socket:
    """A connection whose request fills every header buffer and never ends."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    lines = "".join(f"X-Fill-{i}: {'a' * HEADER_LINE}\r\n" for i in range(4))
    sock.sendall(f"GET /v1/models HTTP/1.1\r\nHost: x\r\n{lines}".encode())
    return sock


def held_generation(port: int, key: str, index: int, body_bytes: int) -> socket.socket:
    """A streamed chat request with a body of the largest size, held open upstream after one event."""
    envelope: dict[str, Any] = {"stream": True, "x_hold": True, "messages": [{"role": "user", "content": ""}]}
    pad = body_bytes - len(json.dumps(envelope)) - 16
    envelope["messages"][0]["content"] = "x" * pad
    body = json.dumps(envelope).encode()
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall((f"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\n"
                  f"X-Forwarded-For: 198.51.{index // 250}.{index % 250 + 1}\r\n"
                  f"Content-Length: {len(body)}\r\n\r\n").encode() + body)
    if not sock.recv(65536).startswith(b"HTTP/1.1 200 "):
        raise RuntimeError("a held generation request was not answered with 200")
    return sock


def server_sockets(port: int) -> list[tuple[str, int]]:
    """The accepted side of every TCP connection to `port` nginx still holds: its state and unread bytes."""
    held = []
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        _, local, _, state, queues, *_ = line.split()
        if int(local.rsplit(":", 1)[1], 16) == port and state in HELD_STATES:
            held.append((state, int(queues.split(":")[1], 16)))
    return held


def wait_for(done: Callable[[list[tuple[str, int]]], bool], port: int, what: str) -> None:
    """Poll nginx's side of the connections to `port` until `done`: conditions, not sleeps, so that a
    loaded machine (the suite beside it) makes the probe slower, never wrong (a slot still held by a
    connection the probe closed made nginx refuse a request it counts on)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while not done(held := server_sockets(port)):
        if time.monotonic() > deadline:
            raise RuntimeError(f"nginx did not {what} within {WAIT_SECONDS:.0f}s: {len(held)} connection(s) held")
        time.sleep(0.05)


def health_flood(proxy: Proxy, count: int, body_bytes: int) -> tuple[int, int]:
    """`count` connections each sending GET /health with a body: the worker's growth, and files spooled."""
    before = sample(proxy).worker_rss
    with ExitStack() as stack:
        for _ in range(count):
            sock = stack.enter_context(socket.create_connection(("127.0.0.1", proxy.port), timeout=5))
            sock.sendall(f"GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: {body_bytes}\r\n\r\n".encode())
            try:
                sock.sendall(b"x" * body_bytes)
            except OSError:
                pass  # refused and closed before the body was all sent
        time.sleep(SETTLE_SECONDS)
        grown = sample(proxy).worker_rss - before
        spool = proxy.prefix / PROXY_RUN_DIR / "client_body"
        files = len(list(spool.iterdir())) if spool.is_dir() else 0
    wait_for(lambda held: not held, proxy.port, "close the flood's connections")
    return grown, files


def unfinished_connection_count(worker_connections: int, requests: int) -> int:
    """As many connections as nginx holds without closing any, with room kept for the requests in flight.

    Below a sixteenth of worker_connections free, nginx closes reusable connections in advance
    (accepted but not yet read, or idle keep-alive): since 1.19.2, "Core: reusing connections in
    advance" (src/core/ngx_connection.c, ngx_get_connection). A probe that went past it had a held
    request's connection closed under it on a loaded machine, and counted connections nginx had
    already dropped. Each request in flight holds two (client and upstream); 8 more for the two
    listening sockets, Lua's timers and the upstream keep-alive pool.
    """
    return worker_connections - (worker_connections // 16 + 1) - 2 * requests - 8


def measure(runtime: Runtime) -> Measured:
    """Idle, then every connection at its worst, then every request in flight at its worst."""
    values, limits = default_limits()
    requests = limits.concurrent_requests
    with FakeLlama().start_context() as fake, \
            running_proxy(runtime, fake.port, {}, key_text="\n".join(keys()) + "\n") as proxy, ExitStack() as stack:
        proxy.settled_error_log()
        idle, off = idle_with_and_without_metrics(runtime, proxy)
        flood_growth, spooled = health_flood(proxy, 50, 8 * MiB)
        count = unfinished_connection_count(limits.worker_connections, requests)
        for _ in range(count):
            stack.enter_context(unfinished_headers(proxy.port))
        wait_for(lambda held: len(held) == count and not any(unread for _, unread in held), proxy.port,
                 f"accept and read {count} connections")
        time.sleep(SETTLE_SECONDS)
        connected = sample(proxy)
        for index, key in enumerate(keys()[:requests]):
            stack.enter_context(held_generation(proxy.port, key, index, limits.completion_body_bytes))
        time.sleep(SETTLE_SECONDS)
        loaded = sample(proxy)
        if "worker_connections are not enough" in proxy.read_error_log():
            raise RuntimeError("nginx closed connections to make room: the probe measured fewer than it counts")
        scraped = sample_after_scrape(proxy)
        fake.release()
    cost = idle.total_pss - off.total_pss + max(0, scraped.total_pss - loaded.total_pss)
    return Measured(limits.worker_connections, requests, limits.completion_body_bytes, idle, count, connected, loaded,
                    (connected.worker_rss - idle.worker_rss) // count, (loaded.worker_rss - connected.worker_rss) // requests,
                    50, flood_growth, spooled, off, scraped, cost, {"values": values, **asdict(limits)})


def sample_after_scrape(proxy: Proxy) -> Sample:
    """Both metrics paths read on the metrics port (its connection closed), then the processes' memory."""
    assert proxy.metrics_port is not None, "metrics are on by default"
    for path in ("/metrics", "/metrics/llama-server"):
        with socket.create_connection(("127.0.0.1", proxy.metrics_port), timeout=10) as sock:
            sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
            reply = b""
            while chunk := sock.recv(65536):
                reply += chunk
        if not reply.startswith(b"HTTP/1.1 200 "):
            raise RuntimeError(f"GET {path} on the metrics port was not answered with 200")
    time.sleep(SETTLE_SECONDS)
    return sample(proxy)


def idle_with_and_without_metrics(runtime: Runtime, proxy: Proxy) -> tuple[Sample, Sample]:
    """This proxy idle, and the same proxy with metrics.enabled false beside it, sampled one right after the other.

    Side by side, not one after the other: a shared library page counts in PSS divided among every
    process that maps it, so an nginx another test starts or stops between two samples would move
    the difference by more than what metrics cost.
    """
    with FakeLlama().start_context() as fake, running_proxy(runtime, fake.port, {}, key_text="\n".join(keys()) + "\n",
                                                             metrics={"enabled": False}) as without:
        without.settled_error_log()
        return sample(proxy), sample(without)


def main() -> int:
    runtime = find_runtime()
    if runtime is None:
        print(json.dumps({"error": "nginx with the Lua module is not installed"}))
        return 1
    print(json.dumps(asdict(measure(runtime))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
