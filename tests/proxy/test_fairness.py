"""Per-key fairness and cost control: in-flight limits per key, per client address and overall (a
stream counts until it ends), the max_tokens ceiling on generation requests, failed-authentication
throttling, and a key identity in the log that is never the key.

The finding: one key running 4 concurrent generations made another client's one-token request wait
35.7 s behind them (llama-server queues what its --parallel slots cannot take); the rate limit counted
requests only and was off; llama-server's default n_predict is unlimited.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import pytest

from generator import keys
from testkit.fake_llama import FakeLlama
from testkit.nginx import Proxy, error_json
from testkit.proxy_client import bearer, opened, request
from tests.proxy.conftest import KEY, OTHER_KEY, StartProxy

KEYS = [f"sk-gemma-fair-{i}-0123456789abcdef" for i in range(6)]
HELD = json.dumps({"stream": True, "x_chunks": 2, "x_hold": True}).encode()
# llama.parallel 1 and a 4096-token context (the defaults): 1 per key, 2 per client, 4 in all, and at
# most 2048 tokens a request.
CEILING = 2048


def client(address: str) -> list[tuple[str, str]]:
    """What Envoy appends: the client's address as the last X-Forwarded-For entry."""
    return [("X-Forwarded-For", f"192.0.2.250, {address}")]


@contextmanager
def streams(proxy: Proxy, upstream: FakeLlama, callers: list[list[tuple[str, str]]]) -> Iterator[list[int]]:
    """Open a held stream for each caller (headers); yields their statuses while every one is open."""
    with ExitStack() as stack:
        statuses = []
        for headers in callers:
            response = stack.enter_context(opened(proxy.port, "POST", "/v1/chat/completions", headers, HELD))
            statuses.append(response.status)
            stack.callback(response.read)
            if response.status != 200:
                response.read()
        yield statuses
        upstream.release()


def models(proxy: Proxy, headers: list[tuple[str, str]]) -> int:
    return request(proxy.port, "GET", "/v1/models", headers).status


@pytest.fixture
def fair(start_proxy: StartProxy) -> Proxy:
    """A proxy with the default limits and six keys."""
    return start_proxy({"limits": {"failedAuthPerMinute": 1000}}, key_text="\n".join(KEYS) + "\n")


def test_a_key_cannot_queue_work_ahead_of_the_others(fair: Proxy, upstream: FakeLlama) -> None:
    """Key 0's second to fourth requests get 429 while its first streams; key 1 gets through, and none
    of the refused ones reached llama-server."""
    with streams(fair, upstream, [[*bearer(KEYS[0]), *client("198.51.100.1")]] * 4) as statuses:
        assert statuses == [200, 429, 429, 429]
        assert models(fair, [*bearer(KEYS[1]), *client("198.51.100.2")]) == 200
        assert len(upstream.requests) == 2


def test_a_stream_counts_until_it_ends(fair: Proxy, upstream: FakeLlama) -> None:
    with streams(fair, upstream, [bearer(KEYS[0])]) as statuses:
        assert statuses == [200]
        assert models(fair, bearer(KEYS[0])) == 429
    # nginx frees the slot when it finalizes the stream's request, after its log phase, which can come a
    # moment after the client read the end: a loaded machine saw one 429 right after.
    deadline = time.monotonic() + 2
    while (status := models(fair, bearer(KEYS[0]))) == 429 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert status == 200


def test_every_key_together_is_limited_too(fair: Proxy, upstream: FakeLlama) -> None:
    callers = [[*bearer(KEYS[i]), *client(f"198.51.100.{i + 1}")] for i in range(5)]
    with streams(fair, upstream, callers) as statuses:
        assert statuses == [200, 200, 200, 200, 429]
        reply = request(fair.port, "GET", "/v1/models", [*bearer(KEYS[5]), *client("198.51.100.9")])
        assert reply.status == 429
        assert error_json(reply.body)["code"] == "too_many_concurrent_requests"


def test_one_client_address_is_limited_whatever_keys_it_uses(fair: Proxy, upstream: FakeLlama) -> None:
    same = client("203.0.113.7")
    with streams(fair, upstream, [[*bearer(KEYS[i]), *same] for i in range(3)]) as statuses:
        assert statuses == [200, 200, 429]
        assert models(fair, [*bearer(KEYS[3]), *client("203.0.113.8")]) == 200


def test_the_log_names_the_key_by_its_hash_only(fair: Proxy) -> None:
    assert models(fair, bearer(KEYS[2])) == 200
    log = fair.read_access_log()
    assert f"key={keys.key_id(KEYS[2])} reason=" in log
    assert KEYS[2] not in log and hashlib.sha256(KEYS[2].encode()).hexdigest()[:12] not in log


def test_failed_authentication_is_throttled_per_client_address(start_proxy: StartProxy, upstream: FakeLlama) -> None:
    proxy = start_proxy({"limits": {"failedAuthPerMinute": 3}}, key_text=f"{KEY}\n{OTHER_KEY}\n")
    attacker, bystander = client("198.51.100.66"), client("198.51.100.77")
    wrong = [("Authorization", "Bearer sk-gemma-wrong-0123456789abcdef")]
    assert [models(proxy, [*wrong, *attacker]) for _ in range(3)] == [401] * 3
    reply = request(proxy.port, "GET", "/v1/models", [*bearer(KEY), *attacker])  # even the right key
    assert reply.status == 429
    assert error_json(reply.body)["code"] == "too_many_failed_attempts"
    assert models(proxy, [*bearer(KEY), *bystander]) == 200
    assert [r.path for r in upstream.requests] == ["/v1/models"]


def chat(**fields: Any) -> bytes:
    return json.dumps({"model": "gemma", "messages": [{"role": "user", "content": "hi"}], **fields}).encode()


@pytest.mark.parametrize(("path", "body"), [
    pytest.param("/v1/chat/completions", chat(max_tokens=CEILING), id="max_tokens-at-the-ceiling"),
    pytest.param("/v1/chat/completions", chat(), id="none-named: llama-server's --n-predict"),
    pytest.param("/v1/chat/completions", chat(max_tokens=None), id="null"),
    pytest.param("/v1/chat/completions", chat(max_completion_tokens=12, n_predict=0), id="several-fields"),
    pytest.param("/v1/chat/completions", chat(max_tokens=1024, n=2), id="n-times-max_tokens-at-the-ceiling"),
    pytest.param("/v1/completions", json.dumps({"prompt": [1, 2, 3], "max_tokens": CEILING}).encode(), id="token-ids"),
    pytest.param("/v1/completions", json.dumps({"prompt": ["a", "b"], "max_tokens": CEILING // 2}).encode(), id="two-prompts"),
])
def test_a_request_within_the_ceiling_passes_intact(fair: Proxy, upstream: FakeLlama, path: str, body: bytes) -> None:
    assert request(fair.port, "POST", path, bearer(KEYS[0]), body).status == 200
    (received,) = upstream.requests
    assert received.body_sha256 == hashlib.sha256(body).hexdigest()


@pytest.mark.parametrize(("path", "body", "status", "code"), [
    pytest.param("/v1/chat/completions", chat(max_tokens=CEILING + 1), 400, "invalid_max_tokens", id="over"),
    pytest.param("/v1/chat/completions", chat(max_completion_tokens=10**9), 400, "invalid_max_tokens", id="alias"),
    pytest.param("/v1/chat/completions", chat(n_predict=-1), 400, "invalid_max_tokens", id="unlimited"),
    pytest.param("/v1/chat/completions", chat(max_tokens=12.5), 400, "invalid_max_tokens", id="fraction"),
    pytest.param("/v1/chat/completions", chat(max_tokens="12"), 400, "invalid_max_tokens", id="string"),
    pytest.param("/v1/chat/completions", chat(max_tokens=1025, n=2), 400, "max_tokens_exceeded", id="n-times"),
    pytest.param("/v1/chat/completions", chat(max_tokens=683, n=3), 400, "max_tokens_exceeded", id="one-over-2049"),
    pytest.param("/v1/chat/completions", chat(max_tokens=2000, max_output_tokens=10, n=2), 400, "max_tokens_exceeded",
                 id="the-largest-field-counts-not-the-last"),
    pytest.param("/v1/chat/completions", chat(n_cmpl=2), 400, "max_tokens_exceeded", id="n_cmpl-default-tokens"),
    pytest.param("/v1/completions", json.dumps({"prompt": ["a", "b", "c"], "max_tokens": 1000}).encode(), 400,
                 "max_tokens_exceeded", id="three-prompts"),
    pytest.param("/v1/completions", json.dumps({"prompt": ["a", "b"]}).encode(), 400, "max_tokens_exceeded",
                 id="two-prompts-default-tokens"),
    pytest.param("/v1/chat/completions", chat(n=0), 400, "invalid_request_body", id="n-zero"),
    pytest.param("/v1/chat/completions", chat(n="2"), 400, "invalid_request_body", id="n-string"),
    pytest.param("/v1/chat/completions", b'{"max_tokens": 1e999}', 400, "invalid_max_tokens", id="infinity"),
    pytest.param("/v1/chat/completions", b'{"max_tokens": NaN}', 400, "invalid_request_body", id="nan"),
    pytest.param("/v1/chat/completions", b"not json", 400, "invalid_request_body", id="not-json"),
    pytest.param("/v1/chat/completions", b"[1, 2]", 400, "invalid_request_body", id="array"),
    pytest.param("/v1/chat/completions", b'{"a":' * 100 + b"1" + b"}" * 100, 400, "invalid_request_body", id="too-deep"),
    pytest.param("/v1/chat/completions", chat(pad="x" * (128 * 1024)), 413, "request_too_large", id="body-over-128k"),
])
def test_a_request_over_the_ceiling_is_refused_before_llama_server(fair: Proxy, upstream: FakeLlama, path: str,
                                                                   body: bytes, status: int, code: str) -> None:
    reply = request(fair.port, "POST", path, bearer(KEYS[0]), body)
    assert reply.status == status, reply.body
    assert error_json(reply.body)["code"] == code
    assert upstream.requests == []


def test_the_message_names_the_ceiling(fair: Proxy) -> None:
    reply = request(fair.port, "POST", "/v1/chat/completions", bearer(KEYS[0]), chat(max_tokens=CEILING + 1))
    assert error_json(reply.body)["message"] == f"max_tokens must be an integer from 0 to {CEILING}"


def test_extra_generation_endpoints_get_the_same_check(start_proxy: StartProxy, upstream: FakeLlama) -> None:
    """/v1/messages (opened in values) must name max_tokens: the Anthropic API defaults it to 4096."""
    proxy = start_proxy({"allowedEndpoints": [{"path": "/v1/messages", "methods": ["POST"]},
                                              {"path": "/completion", "methods": ["POST"]}]})
    assert request(proxy.port, "POST", "/v1/messages", bearer(KEY), chat()).status == 400
    assert request(proxy.port, "POST", "/completion", bearer(KEY), json.dumps({"n_predict": -1}).encode()).status == 400
    assert upstream.requests == []
    assert request(proxy.port, "POST", "/v1/messages", bearer(KEY), chat(max_tokens=100)).status == 200
