"""What authenticated requests get: streams chunk by chunk, bodies intact, kept-alive upstream
connections, quick JSON errors when llama-server is down or loading, and size limits."""

from __future__ import annotations

import hashlib
import http.client
import itertools
import json
import os
import socket
import time
from concurrent.futures import ThreadPoolExecutor

from generator.render import PROXY_RUN_DIR
from testkit.fake_llama import LOADING, SSE_DONE, FakeLlama, sse_event
from testkit.nginx import Proxy, error_json, free_port
from testkit.proxy_client import bearer, opened, raw_request, read_events, request, seconds_until_closed
from tests.proxy.conftest import KEY, StartProxy

MiB = 1024 * 1024


def chat(stream: bool, chunks: int, interval: float = 0.0) -> bytes:
    return json.dumps({"model": "gemma", "messages": [{"role": "user", "content": "hi"}], "stream": stream,
                       "x_chunks": chunks, "x_interval": interval}).encode()


def expected_events(chunks: int) -> list[bytes]:
    return [e.rstrip(b"\n") for e in [*(sse_event(i) for i in range(chunks)), SSE_DONE]]


def stream_arrivals(port: int, headers: list[tuple[str, str]], chunks: int,
                    interval: float) -> tuple[float, list[float], list[bytes]]:
    """Send a streamed chat request; the time it was sent, when each event arrived, and the events."""
    sent = time.monotonic()
    with opened(port, "POST", "/v1/chat/completions", headers, chat(True, chunks, interval)) as response:
        assert response.status == 200
        arrivals = list(read_events(response))
    return sent, [t for t, _ in arrivals], [e for _, e in arrivals]


def test_a_stream_arrives_chunk_by_chunk(proxy: Proxy) -> None:
    """The first event long before the upstream finishes, each later one as it is written."""
    sent, times, events = stream_arrivals(proxy.port, bearer(KEY), chunks=5, interval=0.3)
    assert events == expected_events(5)
    assert times[0] - sent < 0.2  # the upstream needs 1.2 s for the whole stream
    gaps = [b - a for a, b in itertools.pairwise(times[:5])]  # [DONE] follows the last at once
    assert all(gap > 0.2 for gap in gaps), gaps


def test_an_event_leaves_the_proxy_while_the_upstream_holds_the_stream_open(proxy: Proxy, upstream: FakeLlama) -> None:
    """No timing involved: the fake writes its first event, then waits for the test. Only a proxy that
    passes chunks on as they come delivers that event while the stream is still open upstream; a
    buffering one (`proxy_buffering on`) holds it until the stream ends, and the read times out."""
    body = json.dumps({"stream": True, "x_chunks": 3, "x_hold": True}).encode()
    with opened(proxy.port, "POST", "/v1/chat/completions", bearer(KEY), body, timeout=5) as response:
        assert response.status == 200
        events = read_events(response)
        first = next(events)[1]
        assert not upstream.finished.is_set()  # the upstream is mid-stream: it ends only once released
        assert upstream.holding.wait(5)
        upstream.release()
        rest = [event for _, event in events]
    assert [first, *rest] == expected_events(3)


def test_a_stream_nobody_reads_stops_the_upstream_and_costs_no_disk(proxy: Proxy, upstream: FakeLlama) -> None:
    """Backpressure: nginx holds one buffer of a stream its client does not read and stops reading
    from llama-server, so 64 MiB of events never finish upstream and nothing spills to disk. A
    buffering proxy would read them all into run/proxy (and a slow client could fill the volume)."""
    events, pad = 1024, 64 * 1024
    body = json.dumps({"stream": True, "x_chunks": events, "x_pad": pad}).encode()
    with opened(proxy.port, "POST", "/v1/chat/completions", bearer(KEY), body, timeout=60) as response:
        assert response.status == 200
        assert not upstream.finished.wait(3), "the whole stream was read upstream while the client read nothing"
        assert list((proxy.prefix / PROXY_RUN_DIR / "proxy").rglob("*")) == []
        received = sum(1 for _ in read_events(response))
    assert received == events + 1
    assert upstream.finished.is_set()


def test_stream_headers_keep_it_a_stream(proxy: Proxy) -> None:
    with opened(proxy.port, "POST", "/v1/chat/completions", bearer(KEY), chat(True, 1)) as response:
        response.read()
    assert response.headers["Content-Type"] == "text/event-stream"
    assert response.headers["X-Accel-Buffering"] == "no"
    assert response.headers["Content-Encoding"] is None


def test_fifty_concurrent_streams_all_arrive_intact(proxy: Proxy, upstream: FakeLlama) -> None:
    def one_stream(_: int) -> list[bytes]:
        return stream_arrivals(proxy.port, bearer(KEY), chunks=20, interval=0.01)[2]

    with ThreadPoolExecutor(max_workers=50) as pool:
        results = list(pool.map(one_stream, range(50)))
    assert all(events == expected_events(20) for events in results)
    assert len(upstream.requests) == 50


def test_a_json_response_passes_through(proxy: Proxy) -> None:
    reply = request(proxy.port, "POST", "/v1/chat/completions", bearer(KEY), chat(False, 3))
    assert reply.status == 200
    assert json.loads(reply.body)["choices"][0]["message"]["content"] == "tok0tok1tok2"


def test_bodies_arrive_intact(proxy: Proxy, upstream: FakeLlama) -> None:
    """1 MB stays in memory; 3 MiB goes through a temporary file under run/."""
    for size in (1_000_000, 3 * MiB):
        body = os.urandom(size)
        reply = request(proxy.port, "POST", "/v1/embeddings", bearer(KEY), body)
        assert reply.status == 200
        received = upstream.requests[-1]
        assert (received.body_length, received.body_sha256) == (size, hashlib.sha256(body).hexdigest())
        assert received.headers["content-length"] == str(size)


def test_upstream_connections_are_kept_alive(proxy: Proxy, upstream: FakeLlama) -> None:
    for _ in range(20):
        assert request(proxy.port, "GET", "/v1/models", bearer(KEY)).status == 200
    assert upstream.connections <= 4  # at most a connection or two per worker, not one per request


def test_a_body_over_the_limit_gets_413_json_before_it_is_read(proxy: Proxy, upstream: FakeLlama) -> None:
    head = (f"POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {KEY}\r\n"
            f"Content-Length: {4 * MiB + 1}\r\n\r\n").encode()
    reply = raw_request(proxy.port, head, method="POST")  # no body sent: the header alone is enough
    assert reply.status == 413
    assert error_json(reply.body)["code"] == "request_too_large"
    assert upstream.requests == []


def test_a_chunked_body_over_the_limit_gets_413_json(proxy: Proxy, upstream: FakeLlama) -> None:
    chunk = b"x" * 65536
    with socket.create_connection(("127.0.0.1", proxy.port), timeout=10) as sock:
        sock.sendall((f"POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {KEY}\r\n"
                      "Transfer-Encoding: chunked\r\n\r\n").encode())
        try:
            for _ in range(4 * MiB // len(chunk) + 2):
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # nginx may answer and stop reading before the client is done
        response = http.client.HTTPResponse(sock, method="POST")
        response.begin()
        assert response.status == 413
        assert error_json(response.read())["code"] == "request_too_large"
    assert upstream.requests == []


def test_a_header_over_the_limit_gets_431_json(proxy: Proxy, upstream: FakeLlama) -> None:
    """A header line over 4 KiB: 431 (nginx's own 494, sent as 400 by default)."""
    reply = request(proxy.port, "GET", "/v1/models", [*bearer(KEY), ("X-Big", "y" * 4200)])
    assert reply.status == 431
    assert error_json(reply.body)["code"] == "request_header_too_large"
    assert upstream.requests == []


def test_a_down_upstream_gets_a_quick_502_json(start_proxy: StartProxy) -> None:
    proxy = start_proxy(upstream_port=free_port())  # nothing listens there
    for path, headers in (("/v1/models", bearer(KEY)), ("/health", [])):
        started = time.monotonic()
        reply = request(proxy.port, "GET", path, headers)
        assert time.monotonic() - started < 4.0  # refused at once, not after proxy_connect_timeout's 5 s
        assert reply.status == 502
        assert reply.headers["Content-Type"] == "application/json"
        assert error_json(reply.body)["code"] == "upstream_unavailable"


def test_a_loading_upstream_answers_503_through_the_proxy(proxy: Proxy, upstream: FakeLlama) -> None:
    """llama-server's own 503 passes untouched: the probes see the model is not loaded yet."""
    upstream.loading = True
    health = request(proxy.port, "GET", "/health")
    assert (health.status, json.loads(health.body)) == (503, LOADING)
    chat_reply = request(proxy.port, "POST", "/v1/chat/completions", bearer(KEY), chat(False, 1))
    assert (chat_reply.status, json.loads(chat_reply.body)) == (503, LOADING)
    upstream.loading = False
    assert request(proxy.port, "GET", "/health").status == 200


def test_a_stalled_client_is_dropped(start_proxy: StartProxy, upstream: FakeLlama) -> None:
    """headerTimeoutSeconds bounds the headers, clientTimeoutSeconds the body; nothing reaches the upstream."""
    proxy = start_proxy({"clientTimeoutSeconds": 1, "headerTimeoutSeconds": 1})
    stalls = [b"GET /v1/models HTTP/1.1\r\nHost: x\r\n",
              f"POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {KEY}\r\nContent-Length: 10\r\n\r\n".encode()]
    for stall in stalls:
        assert seconds_until_closed(proxy.port, stall) < 3
    assert upstream.requests == []
