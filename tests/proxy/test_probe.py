"""The probe path does no unauthenticated work: any body announced on it is refused at once, before a
byte is read, and the connection closes.

The finding: `GET /health` with `Content-Length: 8388608` was not authenticated, yet nginx read and
spooled the whole body; a 1-byte-per-20-s trickle held a connection for at least 75 s, and 1,030 of
them exhausted worker_connections (memory: test_memory.py).
"""

from __future__ import annotations

import socket
import time
from contextlib import ExitStack

import pytest

from testkit.fake_llama import FakeLlama
from testkit.nginx import Proxy, error_json
from testkit.proxy_client import raw_request, request
from tests.proxy.conftest import KEY, StartProxy

TRICKLE_BYTES = 40  # sent one at a time, a quarter second apart: 10 s if the proxy waited for them


def answered_and_closed(port: int, data: bytes) -> tuple[bytes, bool]:
    """Send a request head and no body; the reply, and whether the proxy then closed the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(data)
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except TimeoutError:
            return received, False
        except ConnectionResetError:
            pass
        return received, True


@pytest.mark.parametrize(("head", "status", "code"), [
    (b"GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: 8388608\r\n\r\n", 413, "request_too_large"),
    (b"GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n", 400, "bad_request"),
    (b"GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", 400, "bad_request"),
    (b"GET /health HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", 400, "bad_request"),
    (f"POST /health HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {KEY}\r\nContent-Length: 100\r\n\r\n".encode(), 400,
     "bad_request"),
])
def test_a_body_announced_on_the_probe_path_is_refused_at_once_and_the_connection_closed(
        proxy: Proxy, upstream: FakeLlama, head: bytes, status: int, code: str) -> None:
    reply, closed = answered_and_closed(proxy.port, head)
    assert closed, "the proxy waited for a body it will never use"
    status_line, _, rest = reply.partition(b"\r\n")
    assert status_line.startswith(b"HTTP/1.1 %d " % status), reply
    assert error_json(rest.partition(b"\r\n\r\n")[2])["code"] == code
    assert upstream.requests == []


def test_the_probes_own_request_still_passes(proxy: Proxy) -> None:
    assert request(proxy.port, "GET", "/health").status == 200
    assert raw_request(proxy.port, b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n").status == 200


def test_a_trickling_body_is_cut_off(proxy: Proxy) -> None:
    """Refused before its body, a client that trickles it anyway is disconnected within nginx's
    lingering bounds (at most 5 s), long before it is done (the finding: held for 75 s and more)."""
    with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % TRICKLE_BYTES)
        assert sock.recv(65536).startswith(b"HTTP/1.1 400 ")
        sent = 0
        try:
            for _ in range(TRICKLE_BYTES):
                sock.sendall(b"x")
                sent += 1
                time.sleep(0.25)
            disconnected = sock.recv(1) == b""
        except (BrokenPipeError, ConnectionResetError):
            disconnected = True
    assert disconnected and sent < TRICKLE_BYTES, sent


def test_trickling_probe_bodies_cannot_hold_every_connection(start_proxy: StartProxy, upstream: FakeLlama) -> None:
    """More trickling probe-body connections than worker_connections, all trickling on: the proxy
    drops each within lingering_time (5 s), so the probes get through again while the trickle goes on
    (the finding: 1,030 trickles held every slot for 75 s and more)."""
    proxy = start_proxy({"workerConnections": 128, "workerProcesses": 1, "limits": {"concurrentRequests": 4}})
    with ExitStack() as stack:
        socks = []
        for _ in range(140):
            sock = stack.enter_context(socket.create_connection(("127.0.0.1", proxy.port), timeout=5))
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n")
            socks.append(sock)
        probed = None
        for attempt in range(60):  # bounded: about 30 s of trickling
            for sock in socks:
                try:
                    sock.send(b"x")
                except OSError:
                    pass  # dropped by the proxy
            try:
                if request(proxy.port, "GET", "/health", timeout=0.5).status == 200:
                    probed = attempt
                    break
            except OSError:
                pass  # no connection slot free yet
            time.sleep(0.5)
        assert probed is not None, "the trickles held every connection"
    assert upstream.requests[-1].path == "/health"
