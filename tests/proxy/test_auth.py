"""Who gets in: only `Authorization: Bearer <key>`, and without a key only the probes' exact GET /health."""

from __future__ import annotations

import base64

import pytest

from testkit.fake_llama import FakeLlama
from testkit.nginx import Proxy, error_json
from testkit.proxy_client import Reply, bearer, raw_request, request
from tests.proxy.conftest import KEY


def assert_refused(reply: Reply, upstream: FakeLlama) -> None:
    """401 in OpenAI's shape, with the challenge, not echoing the key, and nothing forwarded."""
    assert reply.status == 401, reply.body
    assert reply.headers["WWW-Authenticate"] == "Bearer"
    assert reply.headers["Content-Type"] == "application/json"
    error = error_json(reply.body)
    assert (error["type"], error["code"]) == ("invalid_request_error", "invalid_api_key")
    assert KEY.encode() not in reply.body
    assert upstream.requests == []


def test_the_key_as_a_bearer_token_is_let_through(proxy: Proxy, upstream: FakeLlama) -> None:
    reply = request(proxy.port, "GET", "/v1/models", bearer(KEY))
    assert reply.status == 200
    assert [r.path for r in upstream.requests] == ["/v1/models"]


def test_credentials_are_not_forwarded_upstream(proxy: Proxy, upstream: FakeLlama) -> None:
    request(proxy.port, "POST", "/v1/embeddings", [*bearer(KEY), ("Proxy-Authorization", "Basic eDp5")], b"{}")
    (received,) = upstream.requests
    assert "authorization" not in received.headers
    assert "proxy-authorization" not in received.headers


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER", "bEaReR"])
def test_the_scheme_is_case_insensitive(proxy: Proxy, scheme: str) -> None:
    """RFC 9110 section 11.1: auth schemes are case-insensitive."""
    assert request(proxy.port, "GET", "/v1/models", [("Authorization", f"{scheme} {KEY}")]).status == 200


def test_whitespace_around_the_header_value_is_not_part_of_it(proxy: Proxy) -> None:
    """RFC 9110 section 5.5: leading and trailing whitespace of a field value is not the value."""
    assert request(proxy.port, "GET", "/v1/models", [("Authorization", f"  Bearer {KEY}\t ")]).status == 200


@pytest.mark.parametrize("headers", [
    pytest.param([], id="no-header"),
    pytest.param([("Authorization", "Bearer sk-gemma-wrong-0123456789abcdef")], id="wrong-key"),
    pytest.param([("Authorization", f"Bearer {KEY[:-1]}")], id="key-prefix"),
    pytest.param([("Authorization", f"Bearer {KEY}0")], id="key-plus-suffix"),
    pytest.param([("Authorization", f"Bearer x{KEY}")], id="key-after-a-prefix"),
    pytest.param([("Authorization", f"Bearer {KEY.upper()}")], id="key-in-another-case"),
    pytest.param([("Authorization", "Bearer")], id="empty-bearer"),
    pytest.param([("Authorization", "Bearer ")], id="empty-bearer-with-space"),
    pytest.param([("Authorization", "")], id="empty-header"),
    pytest.param([("Authorization", KEY)], id="no-scheme"),
    pytest.param([("Authorization", f"Basic {base64.b64encode(f'{KEY}:'.encode()).decode()}")], id="basic-encoded"),
    pytest.param([("Authorization", f"Basic {KEY}")], id="basic"),
    pytest.param([("Authorization", f"Token {KEY}")], id="token-scheme"),
    pytest.param([("Authorization", f"Bearer  {KEY}")], id="two-spaces"),
    pytest.param([("Authorization", f"Bearer\t{KEY}")], id="tab"),
    pytest.param([("Authorization", f"Bearer:{KEY}")], id="colon"),
    pytest.param([("Authorization", f"Bearer {KEY} extra")], id="trailing-word"),
    pytest.param([("Authorization", f"Bearer {KEY}, Bearer {KEY}")], id="comma-list"),
    pytest.param([("X-Api-Key", KEY)], id="x-api-key"),
    pytest.param([("Api-Key", KEY)], id="api-key-header"),
    pytest.param([("Cookie", f"api_key={KEY}")], id="cookie"),
    pytest.param([("Proxy-Authorization", f"Bearer {KEY}")], id="proxy-authorization"),
])
def test_anything_but_one_bearer_key_is_refused(proxy: Proxy, upstream: FakeLlama, headers: list[tuple[str, str]]) -> None:
    assert_refused(request(proxy.port, "GET", "/v1/models", headers), upstream)


@pytest.mark.parametrize("query", [f"api_key={KEY}", f"key={KEY}", f"access_token={KEY}", f"Authorization=Bearer%20{KEY}"])
def test_a_key_in_the_query_string_is_refused(proxy: Proxy, upstream: FakeLlama, query: str) -> None:
    assert_refused(request(proxy.port, "GET", f"/v1/models?{query}"), upstream)


@pytest.mark.parametrize("headers", [
    pytest.param([*bearer(KEY), *bearer(KEY)], id="both-valid"),
    pytest.param([*bearer(KEY), ("Authorization", "Bearer nope-0123456789abcdef")], id="valid-then-wrong"),
    pytest.param([("Authorization", "Bearer nope-0123456789abcdef"), ("authorization", f"Bearer {KEY}")], id="wrong-then-valid"),
    pytest.param([*bearer(KEY), *[(f"X-Filler-{i}", "x") for i in range(120)], *bearer(KEY)], id="behind-120-headers"),
])
def test_a_second_authorization_header_is_refused(proxy: Proxy, upstream: FakeLlama, headers: list[tuple[str, str]]) -> None:
    """nginx itself rejects a repeated Authorization header (400) before auth.lua, which would too."""
    reply = request(proxy.port, "GET", "/v1/models", headers)
    assert reply.status == 400
    assert error_json(reply.body)["code"] == "bad_request"
    assert upstream.requests == []


def test_the_refusal_explains_itself_without_the_token(proxy: Proxy, upstream: FakeLlama) -> None:
    missing = error_json(request(proxy.port, "GET", "/v1/models").body)
    malformed = error_json(request(proxy.port, "GET", "/v1/models", [("Authorization", f"Token {KEY}")]).body)
    invalid = error_json(request(proxy.port, "GET", "/v1/models", [("Authorization", "Bearer nope-0123456789abcdef")]).body)
    assert "Authorization: Bearer <key>" in missing["message"]
    assert "exactly one" in malformed["message"]
    assert invalid["message"] == "invalid API key"
    assert upstream.requests == []


def test_the_probe_path_needs_no_key_and_forwards_nothing_of_the_client(proxy: Proxy, upstream: FakeLlama) -> None:
    reply = request(proxy.port, "GET", "/health", [("Authorization", "Bearer whatever-it-is-0123"), ("X-Probe", "1")])
    assert (reply.status, reply.body) == (200, b'{"status": "ok"}')
    (received,) = upstream.requests
    assert (received.method, received.path) == ("GET", "/health")
    assert "authorization" not in received.headers and "x-probe" not in received.headers


def test_head_on_the_probe_path_needs_no_key(proxy: Proxy) -> None:
    assert request(proxy.port, "HEAD", "/health").status == 200


@pytest.mark.parametrize("path", [
    "/slots", "/metrics", "/props", "/v1/models", "/", "/health/", "/HEALTH", "/Health",
    "//slots", "/v1/../slots", "/health/../slots", "/health/..%2Fslots", "/%2Fslots", "/%2fslots",
    "/%68ealth", "/health?x", "/health?", "/health?health", "//health", "/./health", "/v1/../health",
    "/health;x", "/health%20", "/health%2F", "/heal%74h",
])
def test_every_other_path_needs_the_key(proxy: Proxy, upstream: FakeLlama, path: str) -> None:
    assert_refused(request(proxy.port, "GET", path), upstream)


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "OPTIONS"])
def test_other_methods_on_the_probe_path_need_the_key(proxy: Proxy, upstream: FakeLlama, method: str) -> None:
    assert_refused(request(proxy.port, method, "/health"), upstream)


def test_an_absolute_form_request_target_needs_the_key(proxy: Proxy, upstream: FakeLlama) -> None:
    for target in (b"http://gemma.example.com/slots", b"http://gemma.example.com/health?x"):
        assert_refused(raw_request(proxy.port, b"GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % target), upstream)


@pytest.mark.parametrize("path", ["/health?x", "/v1/../slots", "//slots", "/slots/", "/%73lots", "/v1/./models"])
def test_a_path_trick_with_the_key_reaches_nothing(proxy: Proxy, upstream: FakeLlama, path: str) -> None:
    """With the key, only the API's exact raw paths are proxied: nothing is decided on a path that
    llama-server would read differently (and /health with a key is not part of the API)."""
    reply = request(proxy.port, "GET", path, bearer(KEY))
    assert reply.status == 404, reply.body
    assert error_json(reply.body)["code"] == "not_found"
    assert upstream.requests == []
