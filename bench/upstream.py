"""A fast stand-in for llama-server: asyncio protocol, raw HTTP/1.1, keep-alive, SSE streams.

The test fake (testkit/fake_llama.py) is a thread per connection and records everything;
this one records nothing and answers from prebuilt bytes, so in a benchmark the proxy, not the
fake, is what is measured. It listens on 127.0.0.1 only and exits after `--max-seconds`.

Answers: `POST /v1/chat/completions` streams `x_chunks` SSE events (body knob, default 3),
`x_interval` seconds apart (default 0: the whole stream in one write after the first event);
anything else gets a small JSON body. Run it as `python -m bench.upstream`: it prints its port.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

HOST = "127.0.0.1"
JSON_BODY = b'{"object":"list","data":[{"id":"fake","object":"model","owned_by":"bench"}]}'
JSON_REPLY = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
              % (len(JSON_BODY), JSON_BODY))
SSE_HEAD = (b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n")
CHAT_PATH = b"/v1/chat/completions"
MAX_HEAD_BYTES = 65536


def sse_chunk(index: int) -> bytes:
    """The `index`th streamed chat-completion event as one HTTP chunk."""
    event = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "model": "fake",
             "choices": [{"index": 0, "delta": {"content": f"tok{index}"}, "finish_reason": None}]}
    return _chunk(b"data: " + json.dumps(event, separators=(",", ":")).encode() + b"\n\n")


def _chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


SSE_END = _chunk(b"data: [DONE]\n\n") + b"0\r\n\r\n"


def content_length(head: bytes) -> int:
    """The Content-Length of a request head (0 without one)."""
    lowered = head.lower()
    at = lowered.find(b"\r\ncontent-length:")
    if at < 0:
        return 0
    end = lowered.find(b"\r\n", at + 2)
    return int(lowered[at + 17:end if end >= 0 else None].strip())


def stream_knobs(body: bytes) -> tuple[bool, int, float]:
    """(stream, chunks, interval) from a chat request body."""
    try:
        request: Any = json.loads(body or b"{}")
    except ValueError:
        request = {}
    if not isinstance(request, dict):
        request = {}
    return bool(request.get("stream")), max(1, int(request.get("x_chunks", 3))), float(request.get("x_interval", 0))


class Connection(asyncio.Protocol):
    """One client connection: requests answered in order, one stream at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = b""
        self.streaming = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        self._drain()

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None

    def _drain(self) -> None:
        """Answer every complete request in the buffer, unless a slow stream is still going."""
        while not self.streaming and self.transport is not None:
            head_end = self.buffer.find(b"\r\n\r\n")
            if head_end < 0:
                if len(self.buffer) > MAX_HEAD_BYTES:
                    self.transport.close()
                return
            end = head_end + 4 + content_length(self.buffer[:head_end])
            if len(self.buffer) < end:
                return
            head, body, self.buffer = self.buffer[:head_end], self.buffer[head_end + 4:end], self.buffer[end:]
            self._answer(head, body)

    def _answer(self, head: bytes, body: bytes) -> None:
        assert self.transport is not None
        method, _, rest = head.partition(b" ")
        path = rest.partition(b" ")[0]
        if method == b"POST" and path == CHAT_PATH:
            stream, chunks, interval = stream_knobs(body)
            if stream:
                self._stream(chunks, interval)
                return
        self.transport.write(JSON_REPLY)

    def _stream(self, chunks: int, interval: float) -> None:
        """Headers and the first event in one write; the rest at once or `interval` apart."""
        assert self.transport is not None
        if interval <= 0:
            self.transport.write(SSE_HEAD + sse_chunk(0))
            self.transport.write(b"".join(sse_chunk(i) for i in range(1, chunks)) + SSE_END)
            return
        self.streaming = True
        self.transport.write(SSE_HEAD + sse_chunk(0))
        asyncio.get_running_loop().call_later(interval, self._next, 1, chunks, interval)

    def _next(self, index: int, chunks: int, interval: float) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        if index < chunks:
            self.transport.write(sse_chunk(index))
            asyncio.get_running_loop().call_later(interval, self._next, index + 1, chunks, interval)
            return
        self.transport.write(SSE_END)
        self.streaming = False
        self._drain()


async def serve(port: int, max_seconds: float) -> None:
    """Listen on 127.0.0.1:`port` (0: any free port), print the port, serve until the time is up."""
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Connection, HOST, port, backlog=1024, reuse_address=True)
    async with server:
        print(server.sockets[0].getsockname()[1], flush=True)
        await asyncio.sleep(max_seconds)


def main(argv: list[str] | None = None) -> int:
    """`python -m bench.upstream [--port N] [--max-seconds S]`."""
    parser = argparse.ArgumentParser(prog="python -m bench.upstream", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--max-seconds", type=float, default=1800.0, help="exit after this long, whatever happens")
    args = parser.parse_args(argv)
    try:
        asyncio.run(serve(args.port, args.max_seconds))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
