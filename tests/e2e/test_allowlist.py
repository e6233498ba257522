"""Against the real llama-server: only the API's endpoints reach it, and the max_tokens ceiling holds.

Each premise is checked on llama-server directly (the endpoint answers there, it reflects any Origin,
it would generate without a limit); through the proxy the same call is refused, and llama-server is
frozen (SIGSTOP) meanwhile, so a call the proxy forwarded would hang instead of being refused.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from testkit.llama import frozen
from testkit.proxy_client import bearer, request
from tests.e2e.api import KEY, call, chat_body, ok_json
from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e

FROZEN_WAIT = 10.0
# llama-server b11434 endpoints outside the API, each with a body it accepts.
OUTSIDE: list[tuple[str, str, Any]] = [
    ("GET", "/props", None), ("POST", "/props", {}), ("GET", "/lora-adapters", None), ("POST", "/lora-adapters", []),
    ("POST", "/tokenize", {"content": "hello"}), ("POST", "/detokenize", {"tokens": [1, 2]}),
    ("POST", "/apply-template", {"messages": [{"role": "user", "content": "hi"}]}),
    ("POST", "/completion", {"prompt": "hi", "n_predict": 1}), ("POST", "/embedding", {"content": "hi"}),
    ("POST", "/v1/messages", {"model": "x", "max_tokens": 1, "messages": [{"role": "user", "content": "hi"}]}),
    ("POST", "/v1/responses", {"model": "x", "input": "hi", "max_output_tokens": 1}),
    ("GET", "/sw.js", None), ("GET", "/health/../props", None), ("GET", "/v1/health", None),
    # Live with metrics.enabled (--metrics); Prometheus reads it on the proxy's metrics port only.
    ("GET", "/metrics", None),
]


def outside(method: str, path: str, body: Any, port: int, key: str | None) -> int:
    headers = [*(bearer(key) if key else []), ("Content-Type", "application/json")]
    payload = json.dumps(body).encode() if body is not None else None
    return request(port, method, path, headers, payload, timeout=FROZEN_WAIT).status


def test_llama_servers_other_endpoints_are_live_behind_the_proxy(stack: Stack) -> None:
    """The premise: llama-server itself answers /props, /tokenize and /apply-template."""
    for method, path, body in (OUTSIDE[0], OUTSIDE[4], OUTSIDE[6]):
        assert outside(method, path, body, stack.outside.port, None) == 200, path


def test_everything_outside_the_api_is_404_from_the_proxy(stack: Stack) -> None:
    refused = []
    with frozen(stack.llama.process):
        for method, path, body in OUTSIDE:
            try:
                refused.append((path, outside(method, path, body, stack.proxy.port, KEY)))
            except TimeoutError:
                pytest.fail(f"{method} {path}: no answer in {FROZEN_WAIT}s, so the proxy forwarded it")
    assert {status for _, status in refused} == {404}, refused


def test_no_origin_is_reflected(stack: Stack) -> None:
    """llama-server answers any Origin with Access-Control-Allow-Origin: <it> (the premise); the proxy
    passes none of that on."""
    evil = [("Origin", "https://evil.example")]
    direct = request(stack.outside.port, "GET", "/v1/models", evil)
    assert direct.headers["Access-Control-Allow-Origin"] == "https://evil.example"
    reply = request(stack.proxy.port, "GET", "/v1/models", [*bearer(KEY), *evil])
    assert reply.status == 200
    assert not [name for name in reply.headers if name.lower().startswith("access-control-")]
    with frozen(stack.llama.process):
        preflight = request(stack.proxy.port, "OPTIONS", "/v1/models", [*evil, ("Access-Control-Request-Method", "GET")],
                            timeout=FROZEN_WAIT)
    assert preflight.status == 403 and "Access-Control-Allow-Origin" not in preflight.headers


def ceiling(stack: Stack) -> int:
    return int(stack.values["proxy"]["limits"]["maxTokens"])


@pytest.mark.parametrize("fields", [
    {"max_tokens": "over"}, {"n_predict": -1}, {"max_completion_tokens": "over"}, {"n": 2, "max_tokens": "half+1"},
])
def test_a_request_over_the_ceiling_never_reaches_llama_server(stack: Stack, fields: dict[str, Any]) -> None:
    limit = ceiling(stack)
    sizes = {"over": limit + 1, "half+1": limit // 2 + 1}
    body = chat_body(stack.values["model"]["alias"])
    del body["max_tokens"]
    body.update({name: sizes.get(value, value) for name, value in fields.items()})
    with frozen(stack.llama.process):
        reply = call(stack.proxy.port, "POST", "/v1/chat/completions", body, timeout=FROZEN_WAIT)
    assert reply.status == 400, reply.body
    assert json.loads(reply.body)["error"]["code"] in {"invalid_max_tokens", "max_tokens_exceeded"}


def test_a_request_naming_no_max_tokens_generates_at_most_the_ceiling(stack: Stack) -> None:
    """llama-server's --n-predict is the ceiling: without max_tokens (and ignoring end-of-sequence, so
    the model cannot stop early) a completion is exactly that long, not unlimited."""
    body = {**chat_body(stack.values["model"]["alias"]), "ignore_eos": True}
    del body["max_tokens"]
    data = ok_json(call(stack.proxy.port, "POST", "/v1/chat/completions", body))
    assert data["usage"]["completion_tokens"] == ceiling(stack)
    assert data["choices"][0]["finish_reason"] == "length"


def test_a_request_at_the_ceiling_is_served(stack: Stack) -> None:
    body = {**chat_body(stack.values["model"]["alias"], max_tokens=ceiling(stack)), "ignore_eos": True}
    data = ok_json(call(stack.proxy.port, "POST", "/v1/chat/completions", body))
    assert data["usage"]["completion_tokens"] == ceiling(stack)


def test_only_allowed_response_headers_come_back(stack: Stack) -> None:
    reply = call(stack.proxy.port, "POST", "/v1/chat/completions", chat_body(stack.values["model"]["alias"], max_tokens=2))
    assert reply.status == 200
    names = {name.lower() for name in reply.headers}
    assert names <= {"content-type", "content-length", "x-accel-buffering", "date", "server", "connection",
                     "transfer-encoding", "cache-control", "x-request-id"}, names
    assert reply.headers["Server"] == "nginx"
