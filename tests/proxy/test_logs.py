"""Nothing secret in any log: every error nginx can log about a request, driven with a secret in the
query string and in headers, leaves neither in the access log nor in the error log.

nginx adds the request line (query string included) to every error-log line about a request, and
header values at info level; the rendered configuration logs nothing below alert for requests, and the
access log has the path without its query.
"""

from __future__ import annotations

import os
import socket

from testkit.fake_llama import FakeLlama
from testkit.nginx import Proxy, free_port
from testkit.proxy_client import bearer, raw_request, request
from tests.proxy.conftest import KEY, OTHER_KEY, StartProxy

SECRET = "sk-query-secret-5f0c9a7d21e84b6b"  # a key misplaced in a query string
HEADER_SECRET = "hdr-secret-93b1c0de8f7a4e21"  # in a header the proxy has no use for
QUERY = f"?api_key={SECRET}&page=2"
SECRET_HEADERS = [("X-Api-Key", HEADER_SECRET), ("Cookie", f"session={HEADER_SECRET}")]
MiB = 1024 * 1024


def head(method: str, path: str, extra: str = "") -> bytes:
    return (f"{method} {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {KEY}\r\nX-Api-Key: {HEADER_SECRET}\r\n"
            f"{extra}").encode()


def drive_every_error(proxy: Proxy) -> None:
    """Each kind of error nginx logs about a request, with the secrets on board."""
    path = f"/v1/embeddings{QUERY}"
    # too large (by Content-Length, and chunked as it arrives)
    assert raw_request(proxy.port, head("POST", path, f"Content-Length: {64 * MiB}\r\n\r\n")).status == 413
    with socket.create_connection(("127.0.0.1", proxy.port), timeout=10) as sock:
        sock.sendall(head("POST", path, "Transfer-Encoding: chunked\r\n\r\n"))
        try:
            for _ in range(5 * 16):
                sock.sendall(b"10000\r\n" + b"x" * 65536 + b"\r\n")
        except OSError:
            pass  # nginx answered 413 and closed
    # buffered to a temporary file (nginx warns about every such body)
    assert request(proxy.port, "POST", path, [*bearer(KEY), *SECRET_HEADERS], os.urandom(2 * MiB)).status == 200
    # a bad chunk
    assert raw_request(proxy.port, head("POST", path, "Transfer-Encoding: chunked\r\n\r\nzz\r\n")).status == 400
    # a bad request line, a duplicate Authorization (info level logs both values), an oversized header
    assert raw_request(proxy.port, f"get {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode()).status == 400
    dup = [*bearer(KEY), ("Authorization", f"Bearer {SECRET}"), *SECRET_HEADERS]
    assert request(proxy.port, "GET", f"/v1/models{QUERY}", dup).status == 400
    assert request(proxy.port, "GET", f"/v1/models{QUERY}", [*bearer(KEY), ("X-Big", HEADER_SECRET * 200)]).status == 431
    # refusals: no key, a wrong one, a key in the query only
    for headers in ([], [("Authorization", f"Bearer {SECRET}")], SECRET_HEADERS):
        assert request(proxy.port, "GET", f"/v1/models{QUERY}", headers).status == 401


def assert_no_secret(proxy: Proxy) -> None:
    access, errors = proxy.read_access_log(), proxy.read_error_log()
    for log in (access, errors):
        for secret in (SECRET, HEADER_SECRET, KEY, OTHER_KEY, "api_key", "page=2", "Bearer"):
            assert secret not in log, (secret, log[-3000:])
    assert "request:" not in errors and "client:" not in errors, errors[-3000:]
    assert '"POST /v1/embeddings HTTP/1.1" 413' in access


def test_errors_with_secrets_on_board_log_none_of_them(start_proxy: StartProxy) -> None:
    proxy = start_proxy()
    drive_every_error(proxy)
    assert_no_secret(proxy)


def test_an_upstream_down_or_timing_out_logs_no_secret(start_proxy: StartProxy, upstream: FakeLlama) -> None:
    """nginx's `connect() failed ... upstream: "http://127.0.0.1:.../v1/models?api_key=..."` and
    `upstream timed out` lines name the request and the upstream URL; neither is logged."""
    down = start_proxy(upstream_port=free_port())
    assert request(down.port, "GET", f"/v1/models{QUERY}", [*bearer(KEY), *SECRET_HEADERS]).status == 502
    assert raw_request(down.port, head("GET", "/health", "\r\n")).status == 502
    slow = start_proxy()
    upstream.hang_health = True
    assert request(slow.port, "GET", "/health", SECRET_HEADERS, timeout=30).status == 504
    upstream.release()
    for proxy in (down, slow):
        errors = proxy.read_error_log()
        assert SECRET not in errors and HEADER_SECRET not in errors and "upstream" not in errors, errors
        access = proxy.read_access_log()
        assert SECRET not in access and HEADER_SECRET not in access
