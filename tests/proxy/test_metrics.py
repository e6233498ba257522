"""The proxy's metrics in a real nginx: each refusal reason moves its own counter, the histograms move, the
metrics port needs no key while the API port never serves /metrics, and no key reaches the exposition.

Every scrape is read with prometheus_client's parser (tests/exposition.py). The shared proxy counts for
every test of the session, so each test compares a scrape before and after what it does.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from generator import keys
from testkit.fake_llama import FakeLlama
from testkit.nginx import Proxy, error_json, free_port
from testkit.proxy_client import bearer, opened, raw_request, request
from tests.exposition import Exposition, delta, scrape, settled
from tests.proxy.conftest import KEY, OTHER_KEY, StartProxy

WRONG = "sk-gemma-wrong-0123456789abcdef"
GROUPS = {"chat", "completions", "embeddings", "models", "slots", "health", "extra", "other"}
CLASSES = {"1xx", "2xx", "3xx", "4xx", "5xx"}
MiB = 1024 * 1024
RELOAD_SECONDS = 1  # SHARED_VALUES' keyReloadSeconds


def metrics(proxy: Proxy) -> Exposition:
    assert proxy.metrics_port is not None
    return scrape(proxy.metrics_port)


def quiet(proxy: Proxy) -> Exposition:
    """The proxy's exposition once its request counts stop moving (tests/exposition.py)."""
    return settled(lambda: metrics(proxy))


def changed(proxy: Proxy, action: Callable[[], Any]) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """What `action` moved in the proxy's exposition; histograms and the key file's age and failed reloads
    (which move with the clock) left out: they have tests of their own."""
    before = quiet(proxy)
    action()
    return {key: value for key, value in delta(before, quiet(proxy)).items()
            if not key[0].startswith(("gemma_proxy_request_duration", "gemma_proxy_time_to_first_byte",
                                      "gemma_proxy_key_file_seconds_since_success",
                                      "gemma_proxy_key_reload_failures_total"))}


def requests_and_refusal(group: str, status: str, reason: str | None) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """What one request of `group` ending in `status` and refused for `reason` (or not refused) moves."""
    moved = {("gemma_proxy_requests_total", frozenset({("group", group), ("status", status)})): 1.0}
    if reason:
        moved[("gemma_proxy_refusals_total", frozenset({("reason", reason)}))] = 1.0
    return moved


def chat(body: dict[str, Any]) -> bytes:
    return json.dumps(body).encode()


# (reason, group, status class, the request) on the shared proxy: each refusal once.
REFUSALS: list[tuple[str, str, str, Callable[[int], int]]] = [
    ("no_header", "models", "4xx", lambda port: request(port, "GET", "/v1/models").status),
    ("malformed", "models", "4xx", lambda port: request(port, "GET", "/v1/models", [("Authorization", "Basic abc")]).status),
    ("wrong_key", "models", "4xx", lambda port: request(port, "GET", "/v1/models", bearer(WRONG)).status),
    ("not_found", "other", "4xx", lambda port: request(port, "GET", "/props", bearer(KEY)).status),
    ("method_not_allowed", "models", "4xx", lambda port: request(port, "DELETE", "/v1/models", bearer(KEY)).status),
    ("origin_not_allowed", "models", "4xx", lambda port: request(
        port, "OPTIONS", "/v1/models", [("Origin", "https://evil.example"), ("Access-Control-Request-Method", "GET")]).status),
    ("probe_body", "health", "4xx", lambda port: request(port, "GET", "/health", body=b"x").status),
    ("invalid_body", "chat", "4xx", lambda port: request(port, "POST", "/v1/chat/completions", bearer(KEY), b"[1]").status),
    ("invalid_n", "chat", "4xx", lambda port: request(
        port, "POST", "/v1/chat/completions", bearer(KEY), chat({"n": 0})).status),
    ("invalid_max_tokens", "chat", "4xx", lambda port: request(
        port, "POST", "/v1/chat/completions", bearer(KEY), chat({"max_tokens": -1})).status),
    ("too_many_tokens", "completions", "4xx", lambda port: request(
        port, "POST", "/v1/completions", bearer(KEY), chat({"max_tokens": 1000, "prompt": ["a", "b", "c", "d", "e"]})).status),
    ("request_too_large", "embeddings", "4xx", lambda port: raw_request(
        port, f"POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {KEY}\r\n"
              f"Content-Length: {64 * MiB}\r\n\r\n".encode()).status),
    ("bad_request", "other", "4xx", lambda port: raw_request(port, b"get /v1/models HTTP/1.1\r\nHost: x\r\n\r\n").status),
    ("request_uri_too_long", "other", "4xx", lambda port: raw_request(
        port, b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\nHost: x\r\n\r\n").status),
    ("request_header_too_large", "models", "4xx", lambda port: raw_request(
        port, b"GET /v1/models HTTP/1.1\r\nHost: x\r\nX-Big: " + b"y" * 4200 + b"\r\n\r\n").status),
]


@pytest.mark.parametrize(("reason", "group", "status", "send"), REFUSALS, ids=[case[0] for case in REFUSALS])
def test_each_refusal_moves_its_own_counter_and_nothing_else(proxy: Proxy, upstream: FakeLlama, reason: str, group: str,
                                                             status: str, send: Callable[[int], int]) -> None:
    moved = changed(proxy, lambda: send(proxy.port))
    assert moved == requests_and_refusal(group, status, reason)
    assert upstream.requests == []


def test_the_refusals_that_need_a_proxy_of_their_own(start_proxy: StartProxy, upstream: FakeLlama) -> None:
    """No key configured (fail closed), throttled after failed authentications, too many in flight, over
    the rate: each its own reason."""
    closed = start_proxy(key_text=None)
    assert "metrics" not in closed.read_error_log()
    assert changed(closed, lambda: request(closed.port, "GET", "/v1/models", bearer(KEY))) == requests_and_refusal(
        "models", "5xx", "no_key_configured")
    throttled = start_proxy({"limits": {"failedAuthPerMinute": 1}})
    request(throttled.port, "GET", "/v1/models", bearer(WRONG))
    assert changed(throttled, lambda: request(throttled.port, "GET", "/v1/models", bearer(KEY))) == requests_and_refusal(
        "models", "4xx", "auth_throttled")
    limited = start_proxy({"rateLimit": {"enabled": True, "by": "key", "requestsPerSecond": 1, "burst": 0}})
    moved = changed(limited, lambda: [request(limited.port, "GET", "/v1/models", bearer(KEY)) for _ in range(3)])
    assert moved[("gemma_proxy_refusals_total", frozenset({("reason", "rate_limit_exceeded")}))] >= 1
    one = start_proxy({"limits": {"concurrentPerKey": 1}})
    held = chat({"stream": True, "x_chunks": 2, "x_hold": True})
    with opened(one.port, "POST", "/v1/chat/completions", bearer(KEY), held) as stream:
        assert stream.status == 200
        assert changed(one, lambda: request(one.port, "GET", "/v1/models", bearer(KEY))) == {
            **requests_and_refusal("models", "4xx", "too_many_concurrent_requests")}
        upstream.release()
        stream.read()


def test_a_generation_endpoint_that_requires_max_tokens(start_proxy: StartProxy, upstream: FakeLlama) -> None:
    """/v1/messages, opened by proxy.allowedEndpoints, is group `extra`; without max_tokens it is refused."""
    proxy = start_proxy({"allowedEndpoints": [{"path": "/v1/messages", "methods": ["POST"]}]})
    assert changed(proxy, lambda: request(proxy.port, "POST", "/v1/messages", bearer(KEY), b"{}")) == requests_and_refusal(
        "extra", "4xx", "missing_max_tokens")
    moved = changed(proxy, lambda: request(proxy.port, "POST", "/v1/messages", bearer(KEY), chat({"max_tokens": 1})))
    assert moved == requests_and_refusal("extra", "2xx", None)


def test_served_requests_count_by_group_and_status_class(proxy: Proxy, upstream: FakeLlama) -> None:
    for method, path, body, group in (("GET", "/v1/models", None, "models"), ("GET", "/slots", None, "slots"),
                                      ("POST", "/v1/embeddings", b'{"input": "x"}', "embeddings"),
                                      ("POST", "/v1/completions", b'{"prompt": "x"}', "completions"),
                                      ("POST", "/v1/chat/completions", b"{}", "chat")):
        def send(m: str = method, p: str = path, b: bytes | None = body) -> Any:
            return request(proxy.port, m, p, bearer(KEY), b)

        assert changed(proxy, send) == requests_and_refusal(group, "2xx", None), path


def test_the_probes_health_tells_whether_llama_server_is_ready(proxy: Proxy, upstream: FakeLlama) -> None:
    """/health is its own group, never refused for want of a key, and sets upstream_ready."""
    upstream.loading = True
    assert request(proxy.port, "GET", "/health").status == 503
    loading = quiet(proxy)
    assert loading.value("gemma_proxy_upstream_ready") == 0
    upstream.loading = False
    moved = changed(proxy, lambda: request(proxy.port, "GET", "/health"))
    assert moved == {**requests_and_refusal("health", "2xx", None), ("gemma_proxy_upstream_ready", frozenset()): 1.0}


def test_upstream_errors_and_timeouts(start_proxy: StartProxy, upstream: FakeLlama) -> None:
    """llama-server down: 502, an upstream error, and not ready; /health hanging: 504, a timeout."""
    down = start_proxy(upstream_port=free_port())
    moved = changed(down, lambda: request(down.port, "GET", "/v1/models", bearer(KEY)))
    assert moved == {("gemma_proxy_requests_total", frozenset({("group", "models"), ("status", "5xx")})): 1.0,
                     ("gemma_proxy_upstream_errors_total", frozenset({("kind", "error")})): 1.0}
    assert changed(down, lambda: request(down.port, "GET", "/health"))[
        ("gemma_proxy_upstream_errors_total", frozenset({("kind", "error")}))] == 1.0
    assert metrics(down).value("gemma_proxy_upstream_ready") == 0
    slow = start_proxy()
    assert request(slow.port, "GET", "/health").status == 200
    upstream.hang_health = True
    moved = changed(slow, lambda: request(slow.port, "GET", "/health", timeout=30))
    upstream.release()
    assert moved == {("gemma_proxy_requests_total", frozenset({("group", "health"), ("status", "5xx")})): 1.0,
                     ("gemma_proxy_upstream_errors_total", frozenset({("kind", "timeout")})): 1.0,
                     ("gemma_proxy_upstream_ready", frozenset()): -1.0}


def histogram(exposition: Exposition, name: str, stream: str) -> tuple[float, float, list[float]]:
    """(count, sum, cumulative bucket counts in bound order) of one series of a histogram."""
    buckets = sorted(((float(dict(labels)["le"]), value) for (n, labels), value in exposition.samples.items()
                      if n == f"{name}_bucket" and dict(labels)["stream"] == stream))
    return (exposition.value(f"{name}_count", stream=stream), exposition.value(f"{name}_sum", stream=stream),
            [value for _, value in buckets])


def test_histograms_move_for_streamed_and_non_streamed_calls(proxy: Proxy, upstream: FakeLlama) -> None:
    """A stream of 6 events 0.5 s apart: its duration is over 2.5 s, its first byte comes with the first
    event, long before the last; a non-streamed call moves the other series. Health probes and refusals move
    neither."""
    names = ("gemma_proxy_request_duration_seconds", "gemma_proxy_time_to_first_byte_seconds")
    before = metrics(proxy)
    body = chat({"stream": True, "x_chunks": 6, "x_interval": 0.5})
    with opened(proxy.port, "POST", "/v1/chat/completions", bearer(KEY), body) as response:
        assert response.status == 200
        response.read()
    assert request(proxy.port, "GET", "/v1/models", bearer(KEY)).status == 200
    assert request(proxy.port, "GET", "/health").status == 200
    assert request(proxy.port, "GET", "/v1/models").status == 401
    after = quiet(proxy)
    for name in names:
        for stream in ("true", "false"):
            count, total, buckets = histogram(after, name, stream)
            old_count, old_total, _ = histogram(before, name, stream)
            assert count - old_count == 1, (name, stream)
            assert buckets == sorted(buckets) and buckets[-1] == count  # cumulative, +Inf holds every one
            assert total >= old_total
    duration = histogram(after, names[0], "true")[1] - histogram(before, names[0], "true")[1]
    first_byte = histogram(after, names[1], "true")[1] - histogram(before, names[1], "true")[1]
    assert duration >= 2.5 and first_byte < 1.5, (duration, first_byte)


def test_active_streams_count_a_stream_while_it_flows(proxy: Proxy, upstream: FakeLlama) -> None:
    assert metrics(proxy).value("gemma_proxy_active_streams") == 0
    held = chat({"stream": True, "x_chunks": 2, "x_hold": True})
    with opened(proxy.port, "POST", "/v1/chat/completions", bearer(KEY), held) as stream:
        assert stream.status == 200
        assert upstream.holding.wait(5)
        wait_for(lambda: metrics(proxy).value("gemma_proxy_active_streams") == 1, 2)
        upstream.release()
        stream.read()
    assert quiet(proxy).value("gemma_proxy_active_streams") == 0


def wait_for(check: Callable[[], bool], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"not true within {seconds}s"
        time.sleep(0.1)


def test_the_key_files_state(start_proxy: StartProxy) -> None:
    """Keys loaded (in the worker with fewest), seconds since a good read, failed reloads: a key file
    removed shows as 0 keys, a growing age and failures; put back, it recovers."""
    proxy = start_proxy(key_text=f"{KEY}\n{OTHER_KEY}\n")
    start = metrics(proxy)
    assert start.value("gemma_proxy_keys_loaded") == 2
    assert start.value("gemma_proxy_key_file_seconds_since_success") <= RELOAD_SECONDS + 1
    assert start.value("gemma_proxy_key_reload_failures_total") == 0
    proxy.keys.remove()
    wait_for(lambda: metrics(proxy).value("gemma_proxy_keys_loaded") == 0, RELOAD_SECONDS + 3)
    time.sleep(2 * RELOAD_SECONDS + 0.5)
    gone = metrics(proxy)
    assert gone.value("gemma_proxy_key_reload_failures_total") >= 2  # each worker, each reload
    assert gone.value("gemma_proxy_key_file_seconds_since_success") >= 2 * RELOAD_SECONDS
    proxy.keys.write(f"{KEY}\n")
    wait_for(lambda: metrics(proxy).value("gemma_proxy_keys_loaded") == 1, RELOAD_SECONDS + 3)
    wait_for(lambda: metrics(proxy).value("gemma_proxy_key_file_seconds_since_success") <= RELOAD_SECONDS + 1,
             RELOAD_SECONDS + 3)
    assert "metrics" not in proxy.read_error_log()  # no Lua error in the counting, at start or on a reload


def test_no_key_material_and_only_fixed_labels_in_the_exposition(start_proxy: StartProxy, upstream: FakeLlama) -> None:
    """Known keys (one as a salted hash) used, misused and misplaced, clients named in X-Forwarded-For,
    odd paths and query strings: none of it appears in what the metrics port serves, and every label value
    is one of a fixed set that existed before any traffic."""
    hashed_key = "sk-gemma-hashed-4f1e2d3c4b5a69788796"
    entry = keys.hash_line(hashed_key, keys.new_salt())
    proxy = start_proxy({"allowedEndpoints": [{"path": "/v1/custom-thing", "methods": ["GET"]}]},
                        key_text=f"{KEY}\n{entry}\n")
    first = metrics(proxy)
    secrets = [KEY, hashed_key, WRONG, OTHER_KEY, entry, *entry.split(":")[1:], keys.key_id(KEY), keys.key_id(hashed_key),
               "198.51.100.77", "203.0.113.9", "api_key=", "sneaky-path", "Bearer", "Cookie", "X-Api-Key"]
    client = [("X-Forwarded-For", "203.0.113.9, 198.51.100.77")]
    for key in (KEY, hashed_key, WRONG, f"{KEY}x", OTHER_KEY):
        for path in ("/v1/models", f"/v1/models?api_key={key}", "/sneaky-path", f"/{key}", "/v1/custom-thing"):
            request(proxy.port, "GET", path, [*bearer(key), *client])
            request(proxy.port, "GET", path, [("X-Api-Key", key), ("Cookie", f"k={key}"), *client])
    raw_request(proxy.port, f"GET /{KEY} HTTP/1.1\r\nHost: {hashed_key}\r\nAuthorization: Bearer {KEY} x\r\n\r\n".encode())
    exposition = quiet(proxy)
    for secret in secrets:
        assert secret not in exposition.text, secret
    assert set(exposition.samples) == set(first.samples)  # no series appeared
    assert exposition.total("gemma_proxy_requests_total", group="extra") >= 5
    assert exposition.total("gemma_proxy_requests_total", group="other") >= 20
    for name, labels in exposition.samples:
        found = dict(labels)
        assert found.get("group", "chat") in GROUPS and found.get("status", "2xx") in CLASSES, (name, found)


def test_the_metrics_port_needs_no_key_and_the_api_port_never_serves_metrics(proxy: Proxy, upstream: FakeLlama) -> None:
    assert proxy.metrics_port is not None
    for path in ("/metrics", "/metrics/llama-server"):
        for headers in (bearer(KEY), []):
            reply = request(proxy.port, "GET", path, headers)
            assert reply.status == (404 if headers else 401), (path, reply.status)
    assert upstream.requests == []
    reply = request(proxy.metrics_port, "GET", "/metrics")
    assert reply.status == 200 and b"gemma_proxy_requests_total" in reply.body
    assert reply.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    head = request(proxy.metrics_port, "HEAD", "/metrics")
    assert (head.status, head.body) == (200, b"")


def test_llama_servers_metrics_pass_through_without_the_clients_headers(proxy: Proxy, upstream: FakeLlama) -> None:
    """GET /metrics/llama-server asks llama-server for /metrics, with nothing of the client's."""
    assert proxy.metrics_port is not None
    reply = request(proxy.metrics_port, "GET", "/metrics/llama-server?x=1",
                    [*bearer(KEY), ("Cookie", "a=b"), ("X-Forwarded-For", "203.0.113.9")])
    assert reply.status == 200
    [received] = upstream.requests
    assert (received.method, received.path) == ("GET", "/metrics")
    assert set(received.headers) <= {"host", "connection"}, received.headers


def test_the_metrics_port_serves_nothing_else(proxy: Proxy, upstream: FakeLlama) -> None:
    """Any other path is 404, any other method 405, a body 400: JSON, and nothing reaches llama-server."""
    assert proxy.metrics_port is not None
    port = proxy.metrics_port
    for method, path, body, status in (("GET", "/", None, 404), ("GET", "/v1/models", None, 404),
                                       ("GET", "/metrics/", None, 404), ("GET", "/health", None, 404),
                                       ("POST", "/metrics", b"{}", 405), ("DELETE", "/metrics/llama-server", None, 405),
                                       ("GET", "/metrics", b"x", 400), ("GET", "/metrics/llama-server", b"x", 400)):
        reply = request(port, method, path, bearer(KEY), body)
        assert reply.status == status, (method, path, reply.status)
        assert reply.headers["Content-Type"] == "application/json", (method, path)
        assert error_json(reply.body)["code"]
    assert upstream.requests == []


def listening_ports(proxy: Proxy) -> set[int]:
    """The TCP ports the proxy's processes listen on: their sockets' inodes in /proc/net/tcp and tcp6."""
    inodes = set()
    for pid in proxy.pids():
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                target = os.readlink(fd)
            except OSError:
                continue  # closed while we looked
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # LISTEN
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def test_the_proxy_listens_on_the_api_and_metrics_ports_only(proxy: Proxy) -> None:
    assert listening_ports(proxy) == {proxy.port, proxy.metrics_port}


def test_with_metrics_off_nothing_counts_and_nothing_more_listens(start_proxy: StartProxy, upstream: FakeLlama) -> None:
    proxy = start_proxy(metrics={"enabled": False})
    assert proxy.metrics_port is None
    assert "metrics" not in proxy.files["nginx.conf"] and "metrics.lua" not in proxy.files
    assert request(proxy.port, "GET", "/v1/models", bearer(KEY)).status == 200
    assert request(proxy.port, "GET", "/metrics", bearer(KEY)).status == 404
    assert listening_ports(proxy) == {proxy.port}
