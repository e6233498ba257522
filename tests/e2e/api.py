"""Calls to the OpenAI-compatible API through the proxy, with or without the key."""

from __future__ import annotations

import json
from typing import Any

from testkit.proxy_client import Reply, bearer, request

KEY = "sk-gemma-e2e-0123456789abcdef"  # the one key in the proxy's key file
GENERATION_SECONDS = 120.0  # a few tokens take well under a second; a loaded CI runner gets room


def call(port: int, method: str, path: str, body: dict[str, Any] | None = None, key: str | None = KEY,
         timeout: float = GENERATION_SECONDS) -> Reply:
    """One request on a new connection; `key` None sends no Authorization header at all."""
    headers = [*(bearer(key) if key is not None else []), *([("Content-Type", "application/json")] if body else [])]
    return request(port, method, path, headers, json.dumps(body).encode() if body is not None else None, timeout)


def ok_json(reply: Reply) -> Any:
    """The JSON body of a 200 reply; anything else fails with the status and body."""
    assert reply.status == 200, f"{reply.status}: {reply.body[:500]!r}"
    assert reply.headers["Content-Type"].startswith("application/json"), reply.headers["Content-Type"]
    return json.loads(reply.body)


def chat_body(alias: str, stream: bool = False, max_tokens: int = 12) -> dict[str, Any]:
    """A short chat request; the base model's reply is not meaningful, so tests check shapes, not words."""
    return {"model": alias, "messages": [{"role": "user", "content": "Write one sentence about the sea."}],
            "max_tokens": max_tokens, "temperature": 0, "stream": stream}


def completion_body(alias: str, max_tokens: int = 12) -> dict[str, Any]:
    return {"model": alias, "prompt": "The sea is", "max_tokens": max_tokens, "temperature": 0}


def embeddings_body(alias: str, inputs: list[str]) -> dict[str, Any]:
    return {"model": alias, "input": inputs}
