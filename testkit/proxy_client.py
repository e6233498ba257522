"""A small HTTP client for the proxy tests: exact control over headers, paths and repeats."""

from __future__ import annotations

import http.client
import socket
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

Headers = Iterable[tuple[str, str]]


@dataclass(frozen=True)
class Reply:
    """A complete response."""

    status: int
    headers: http.client.HTTPMessage
    body: bytes


def bearer(key: str) -> list[tuple[str, str]]:
    """The one header that authenticates."""
    return [("Authorization", f"Bearer {key}")]


@contextmanager
def opened(port: int, method: str, path: str, headers: Headers = (), body: bytes | None = None,
           timeout: float = 10.0) -> Iterator[http.client.HTTPResponse]:
    """Send a request on a new connection and yield the response unread (for streams)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.putrequest(method, path, skip_host=False, skip_accept_encoding=True)
        for name, value in headers:
            conn.putheader(name, value)
        if body is not None:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        yield conn.getresponse()
    finally:
        conn.close()


def request(port: int, method: str, path: str, headers: Headers = (), body: bytes | None = None,
            timeout: float = 10.0) -> Reply:
    """Send a request on a new connection and read the whole response."""
    with opened(port, method, path, headers, body, timeout) as response:
        return Reply(response.status, response.headers, response.read())


def raw_request(port: int, data: bytes, method: str = "GET", timeout: float = 5.0) -> Reply:
    """Send bytes as they are and read the one response to them (without waiting for a close)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        response = http.client.HTTPResponse(sock, method=method)
        response.begin()
        return Reply(response.status, response.headers, response.read())


def seconds_until_closed(port: int, data: bytes, timeout: float = 5.0) -> float:
    """Send bytes, then wait for the server to close (or reset) the connection; how long it took."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        try:
            while sock.recv(65536):
                pass
        except ConnectionResetError:
            pass
    return time.monotonic() - started


def read_events(response: http.client.HTTPResponse) -> Iterator[tuple[float, bytes]]:
    """Each server-sent event line (`data: ...`) of a stream, with the time it arrived."""
    while line := response.readline():
        if line.startswith(b"data: "):
            yield time.monotonic(), line.rstrip(b"\n")
