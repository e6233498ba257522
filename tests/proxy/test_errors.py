"""Every status the proxy produces is OpenAI-style JSON, and a malformed request leaves no error-log line.

Each case drives nginx or auth.lua into the status for real: malformed request lines that nginx cannot
route (which once got nginx's HTML 500 and an error-log line each), limits, a missing key file, a down
or hung upstream, an unwritable body spool.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest

from generator.render import PROXY_RUN_DIR
from testkit.fake_llama import FakeLlama
from testkit.nginx import Proxy, free_port
from testkit.proxy_client import Reply, bearer, opened, raw_request, request
from tests.proxy.conftest import KEY, StartProxy

AUTH = f"Authorization: Bearer {KEY}\r\n"

# (id, raw request, status, code): what a client can get wrong on the wire.
MALFORMED = [
    ("options-asterisk", b"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", 400, "bad_request"),
    ("h2-preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 400, "bad_request"),
    ("lowercase-method", b"get /v1/models HTTP/1.1\r\nHost: x\r\n\r\n", 400, "bad_request"),
    ("dot-dot-above-root", b"GET /%2e%2e/%2e%2e/etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n", 400, "bad_request"),
    ("two-hosts", b"GET /v1/models HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", 400, "bad_request"),
    ("no-host", b"GET /v1/models HTTP/1.1\r\n\r\n", 400, "bad_request"),
    ("bad-chunk", f"POST /v1/embeddings HTTP/1.1\r\nHost: x\r\n{AUTH}Transfer-Encoding: chunked\r\n\r\nzz\r\n".encode(),
     400, "bad_request"),
    ("trace", b"TRACE /v1/models HTTP/1.1\r\nHost: x\r\n\r\n", 405, "method_not_allowed"),
    ("uri-too-long", b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414, "request_uri_too_long"),
    ("header-too-large", b"GET /v1/models HTTP/1.1\r\nHost: x\r\nX-Big: " + b"y" * 4200 + b"\r\n\r\n", 431,
     "request_header_too_large"),
    ("too-many-header-bytes", b"GET /v1/models HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-H%d: %s\r\n" % (i, b"z" * 3000)
                                                                                 for i in range(8)) + b"\r\n",
     431, "request_header_too_large"),
    ("gzip-transfer-encoding", b"POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501,
     "not_implemented"),
    ("http-2-request-line", b"GET /v1/models HTTP/2.0\r\nHost: x\r\n\r\n", 505, "http_version_not_supported"),
    ("body-too-large", f"POST /v1/embeddings HTTP/1.1\r\nHost: x\r\n{AUTH}Content-Length: {64 * 2**20}\r\n\r\n".encode(),
     413, "request_too_large"),
]


def assert_json_error(reply: Reply, status: int, code: str) -> None:
    """OpenAI's error shape, as JSON, with the status and code expected."""
    assert reply.status == status, reply.body
    assert reply.headers["Content-Type"] == "application/json", reply.headers
    error = json.loads(reply.body)["error"]
    assert set(error) == {"message", "type", "code"}
    assert error["code"] == code
    assert error["type"] in {"invalid_request_error", "server_error", "rate_limit_error"}
    assert isinstance(error["message"], str) and error["message"]


@pytest.fixture
def quiet_error_log(proxy: Proxy) -> Iterator[None]:
    """The test must add nothing to the shared proxy's error log."""
    before = proxy.settled_error_log()
    yield
    assert proxy.read_error_log() == before


@pytest.mark.parametrize(("data", "status", "code"), [pytest.param(*case[1:], id=case[0]) for case in MALFORMED])
def test_a_malformed_request_gets_json_and_no_error_log_line(proxy: Proxy, upstream: FakeLlama, quiet_error_log: None,
                                                              data: bytes, status: int, code: str) -> None:
    assert_json_error(raw_request(proxy.port, data), status, code)
    assert upstream.requests == []


def test_many_malformed_requests_write_nothing_to_the_error_log(proxy: Proxy, quiet_error_log: None) -> None:
    """The finding: 2,000 `OPTIONS *` wrote 391 KB of error log. 200 of each kind now write none."""
    for _ in range(200):
        for _, data, status, _ in MALFORMED[:4]:
            assert raw_request(proxy.port, data).status == status


@pytest.mark.parametrize(("method", "path", "headers", "status", "code"), [
    ("GET", "/v1/models", [], 401, "invalid_api_key"),
    ("OPTIONS", "/v1/models", [("Origin", "https://evil.example"), ("Access-Control-Request-Method", "GET")], 403,
     "origin_not_allowed"),
    ("GET", "/props", bearer(KEY), 404, "not_found"),
    ("GET", "/v1/chat/completions", bearer(KEY), 405, "method_not_allowed"),
])
def test_a_refusal_of_auth_lua_is_json(proxy: Proxy, upstream: FakeLlama, quiet_error_log: None, method: str, path: str,
                                       headers: list[tuple[str, str]], status: int, code: str) -> None:
    assert_json_error(request(proxy.port, method, path, headers), status, code)
    assert upstream.requests == []


def test_405_names_the_allowed_methods(proxy: Proxy) -> None:
    assert request(proxy.port, "GET", "/v1/embeddings", bearer(KEY)).headers["Allow"] == "POST"
    assert request(proxy.port, "POST", "/v1/models", bearer(KEY), b"{}").headers["Allow"] == "GET"


def test_429_from_the_in_flight_limit_is_json_with_retry_after(start_proxy: StartProxy, upstream: FakeLlama) -> None:
    """nginx's own 429 (limit_conn): a second request of a key while its first still streams."""
    proxy = start_proxy({"limits": {"failedAuthPerMinute": 1000}})
    held = json.dumps({"stream": True, "x_chunks": 2, "x_hold": True}).encode()
    with opened(proxy.port, "POST", "/v1/chat/completions", bearer(KEY), held) as stream:
        assert stream.status == 200
        assert upstream.holding.wait(5)
        reply = request(proxy.port, "GET", "/v1/models", bearer(KEY))
        assert_json_error(reply, 429, "too_many_concurrent_requests")
        assert reply.headers["Retry-After"] == "1"
        upstream.release()
        stream.read()


def test_429_from_failed_authentications_is_json(start_proxy: StartProxy) -> None:
    proxy = start_proxy({"limits": {"failedAuthPerMinute": 1}})
    assert request(proxy.port, "GET", "/v1/models").status == 401
    reply = request(proxy.port, "GET", "/v1/models", bearer(KEY))
    assert_json_error(reply, 429, "too_many_failed_attempts")
    assert reply.headers["Retry-After"] == "60"


def test_500_when_a_body_cannot_be_spooled_is_json(start_proxy: StartProxy, upstream: FakeLlama) -> None:
    """An embeddings body over the memory buffer goes to run/client_body; unwritable, nginx answers 500."""
    proxy = start_proxy()
    spool = proxy.prefix / PROXY_RUN_DIR / "client_body"
    spool.chmod(0o000)
    try:
        reply = request(proxy.port, "POST", "/v1/embeddings", bearer(KEY), b"x" * (1024 * 1024))
    finally:
        spool.chmod(0o700)
    assert_json_error(reply, 500, "proxy_error")
    assert upstream.requests == []


def test_502_503_504_are_json(start_proxy: StartProxy, upstream: FakeLlama) -> None:
    down = start_proxy(upstream_port=free_port())
    assert_json_error(request(down.port, "GET", "/v1/models", bearer(KEY)), 502, "upstream_unavailable")
    no_key = start_proxy(key_text=None)
    assert_json_error(request(no_key.port, "GET", "/v1/models", bearer(KEY)), 503, "no_api_key_configured")
    upstream.hang_health = True  # /health waits 10 s for llama-server (the probes' own timeout)
    reply = request(start_proxy().port, "GET", "/health", timeout=30)
    upstream.release()
    assert_json_error(reply, 504, "upstream_timeout")


def test_a_bad_chunk_after_the_key_leaves_no_error_log_line(start_proxy: StartProxy) -> None:
    proxy = start_proxy()
    before = proxy.settled_error_log()
    with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as sock:
        sock.sendall(f"POST /v1/embeddings HTTP/1.1\r\nHost: x\r\n{AUTH}Transfer-Encoding: chunked\r\n\r\n"
                     "5\r\nhello\r\nnot-a-size\r\n".encode())
        assert sock.recv(65536).startswith(b"HTTP/1.1 400 ")
    assert proxy.read_error_log() == before
