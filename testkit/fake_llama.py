"""A stand-in for llama-server on loopback: OpenAI-style JSON, streamed SSE, a switchable /health.

It records every request it receives (method, path, headers, body length and digest) and every
connection it accepts, so tests can assert what the proxy forwarded, stripped or never let through.
Test-only knobs ride in the JSON body of a chat request: `stream`, `x_chunks` (events before [DONE]),
`x_interval` (seconds between events), `x_pad` (spaces added to each event), `x_hold` (after the first
event, wait until the test calls release()), `x_headers` (extra response headers, as llama-server or a bad upstream might send).
`hang_health` makes /health accept the request and never answer.
"""

from __future__ import annotations

import hashlib
import json
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

LOADING = {"error": {"code": 503, "message": "Loading model", "type": "unavailable_error"}}


@dataclass(frozen=True)
class Received:
    """One request as the upstream saw it."""

    method: str
    path: str
    headers: dict[str, str]  # lower-cased names; a repeated header keeps its last value
    header_names: tuple[str, ...]  # every header name as sent, repeats included
    body_length: int
    body_sha256: str


def sse_event(index: int, pad: int = 0) -> bytes:
    """The `index`th streamed chat-completion chunk, its content padded with `pad` spaces."""
    chunk = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "model": "fake",
             "choices": [{"index": 0, "delta": {"content": f"tok{index}" + " " * pad}, "finish_reason": None}]}
    return b"data: " + json.dumps(chunk, separators=(",", ":")).encode() + b"\n\n"


SSE_DONE = b"data: [DONE]\n\n"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # 50 concurrent streams open their connections at once
    fake: FakeLlama

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client (the proxy) that went away mid-stream is not news; anything else is printed."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)

    def process_request(self, request: Any, client_address: Any) -> None:
        self.fake.count_connection()
        request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # no Nagle delay on small events
        super().process_request(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like llama-server
    server: _Server
    timeout = 30  # an idle kept-alive connection does not hold a thread forever

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._handle()

    def do_HEAD(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def _handle(self) -> None:
        body = self._read_body()
        self.server.fake.record(Received(
            self.command, self.path, {k.lower(): v for k, v in self.headers.items()},
            tuple(self.headers.keys()), len(body), hashlib.sha256(body).hexdigest()))
        if self.path.split("?")[0] == "/health":
            if self.server.fake.hang_health:
                self.server.fake.released.wait(20)
            self._health()
        elif self.path == "/v1/chat/completions" and self.command == "POST":
            self._chat(json.loads(body or b"{}"))
        else:
            self._json(200, {"object": "echo", "method": self.command, "path": self.path,
                             "body_length": len(body), "body_sha256": hashlib.sha256(body).hexdigest()})

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            raise AssertionError("the proxy buffers request bodies: it must send a Content-Length")
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _health(self) -> None:
        if self.server.fake.loading:
            self._json(503, LOADING)
        else:
            self._json(200, {"status": "ok"})

    def _chat(self, request: dict[str, Any]) -> None:
        if self.server.fake.loading:
            self._json(503, LOADING)
            return
        chunks, interval = int(request.get("x_chunks", 3)), float(request.get("x_interval", 0))
        extra = dict(request.get("x_headers", {}))
        if not request.get("stream"):
            text = "".join(f"tok{i}" for i in range(chunks))
            self._json(200, {"object": "chat.completion", "choices": [{"message": {"role": "assistant", "content": text}}]},
                       extra)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        pad = int(request.get("x_pad", 0))
        for i in range(chunks):
            if i:
                time.sleep(interval)
            self._chunk(sse_event(i, pad))
            if i == 0 and request.get("x_hold"):
                self.server.fake.holding.set()
                self.server.fake.released.wait(30)
        self._chunk(SSE_DONE)
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()
        self.server.fake.finished.set()

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def _json(self, status: int, payload: dict[str, Any], extra: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)


class FakeLlama:
    """The fake upstream: start(), then point the proxy at `port`; stop() when done."""

    def __init__(self) -> None:
        self.loading = False
        self.hang_health = False
        self.holding = threading.Event()  # set while a held stream waits between its first event and the rest
        self.finished = threading.Event()  # set when a stream has been written to its end
        self.released = threading.Event()
        self._lock = threading.Lock()
        self._requests: list[Received] = []
        self._connections = 0
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.fake = self
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> FakeLlama:
        """Serve in a background thread."""
        self._thread.start()
        return self

    @contextmanager
    def start_context(self) -> Iterator[FakeLlama]:
        """Serve for the duration of a with block."""
        self.start()
        try:
            yield self
        finally:
            self.release()
            self.stop()

    def stop(self) -> None:
        """Stop serving and close the listening socket."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def reset(self) -> None:
        """Forget what was received and serve a loaded model again."""
        with self._lock:
            self._requests.clear()
            self._connections = 0
        self.loading = False
        self.hang_health = False
        self.release()
        self.holding.clear()
        self.released.clear()
        self.finished.clear()

    def release(self) -> None:
        """Let held streams and hung /health requests go on."""
        self.released.set()

    def record(self, received: Received) -> None:
        with self._lock:
            self._requests.append(received)

    def count_connection(self) -> None:
        with self._lock:
            self._connections += 1

    @property
    def requests(self) -> list[Received]:
        """Every request received since the last reset, oldest first."""
        with self._lock:
            return list(self._requests)

    @property
    def connections(self) -> int:
        """Connections accepted since the last reset."""
        with self._lock:
            return self._connections
