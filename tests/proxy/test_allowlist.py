"""What the API is: only the seed's endpoints (and those values add) reach llama-server; everything
else is a JSON 404 before it. CORS is ours: off by default, an origin list in values, never
llama-server's reflection of any origin with credentials.

The finding: with any key, /props (model path, chat template, build), POST /lora-adapters (changes
global state), /tokenize, /detokenize, /apply-template, /completion, /embedding, /v1/messages,
/v1/responses and /sw.js answered, and OPTIONS reflected any Origin with Allow-Credentials.
"""

from __future__ import annotations

import pytest

from testkit.fake_llama import FakeLlama
from testkit.nginx import Proxy, error_json
from testkit.proxy_client import bearer, request
from tests.proxy.conftest import KEY, StartProxy

APP = "https://app.example.com"
PREFLIGHT = [("Origin", APP), ("Access-Control-Request-Method", "POST"),
             ("Access-Control-Request-Headers", "authorization, content-type")]


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/props"), ("POST", "/props"), ("POST", "/lora-adapters"), ("GET", "/lora-adapters"),
    ("POST", "/tokenize"), ("POST", "/detokenize"), ("POST", "/apply-template"), ("POST", "/completion"),
    ("POST", "/completions"), ("POST", "/embedding"), ("POST", "/v1/messages"), ("POST", "/v1/responses"),
    ("GET", "/sw.js"), ("GET", "/metrics"), ("POST", "/slots/0?action=save"), ("POST", "/infill"),
    ("GET", "/"), ("GET", "/index.html"), ("POST", "/v1/rerank"), ("GET", "/v1/health"), ("POST", "/models/load"),
])
def test_anything_outside_the_api_is_404_and_never_reaches_llama_server(proxy: Proxy, upstream: FakeLlama, method: str,
                                                                         path: str) -> None:
    reply = request(proxy.port, method, path, bearer(KEY), b"{}" if method == "POST" else None)
    assert reply.status == 404, reply.body
    assert error_json(reply.body)["code"] == "not_found"
    assert upstream.requests == []


@pytest.mark.parametrize(("method", "path"), [
    ("POST", "/v1/chat/completions"), ("POST", "/v1/completions"), ("POST", "/v1/embeddings"), ("GET", "/v1/models"),
    ("GET", "/slots"),
])
def test_the_api_reaches_llama_server(proxy: Proxy, upstream: FakeLlama, method: str, path: str) -> None:
    assert request(proxy.port, method, path, bearer(KEY), b"{}" if method == "POST" else None).status == 200
    assert [(r.method, r.path) for r in upstream.requests] == [(method, path)]


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/v1/chat/completions"), ("PUT", "/v1/completions"), ("GET", "/v1/embeddings"), ("POST", "/v1/models"),
    ("DELETE", "/slots"), ("HEAD", "/v1/models"), ("OPTIONS", "/v1/models"), ("PATCH", "/v1/chat/completions"),
])
def test_another_method_on_an_api_path_is_405(proxy: Proxy, upstream: FakeLlama, method: str, path: str) -> None:
    reply = request(proxy.port, method, path, bearer(KEY))
    assert reply.status == 405
    assert upstream.requests == []


def test_an_options_request_reflects_no_origin(proxy: Proxy, upstream: FakeLlama) -> None:
    """With the key and an Origin (not a preflight): 405, no Access-Control-* at all."""
    reply = request(proxy.port, "OPTIONS", "/v1/models", [*bearer(KEY), ("Origin", "https://evil.example")])
    assert reply.status == 405
    assert not [name for name in reply.headers if name.lower().startswith("access-control-")]
    assert upstream.requests == []


def test_values_open_more_endpoints_with_their_methods(start_proxy: StartProxy, upstream: FakeLlama) -> None:
    proxy = start_proxy({"allowedEndpoints": [{"path": "/tokenize", "methods": ["POST"]},
                                              {"path": "/slots", "methods": ["POST"]}]})
    assert request(proxy.port, "POST", "/tokenize", bearer(KEY), b'{"content": "hi"}').status == 200
    assert request(proxy.port, "POST", "/slots", bearer(KEY), b"{}").status == 200
    assert request(proxy.port, "GET", "/slots", bearer(KEY)).status == 200  # the default method stays
    assert request(proxy.port, "GET", "/tokenize", bearer(KEY)).status == 405
    assert request(proxy.port, "POST", "/detokenize", bearer(KEY), b"{}").status == 404
    assert [(r.method, r.path) for r in upstream.requests] == [("POST", "/tokenize"), ("POST", "/slots"), ("GET", "/slots")]


def test_cors_is_off_by_default(proxy: Proxy, upstream: FakeLlama) -> None:
    reply = request(proxy.port, "OPTIONS", "/v1/chat/completions", PREFLIGHT)
    assert reply.status == 403
    assert error_json(reply.body)["code"] == "origin_not_allowed"
    assert "Access-Control-Allow-Origin" not in reply.headers
    post = request(proxy.port, "POST", "/v1/chat/completions", [*bearer(KEY), ("Origin", APP)], b"{}")
    assert post.status == 200 and "Access-Control-Allow-Origin" not in post.headers
    assert len(upstream.requests) == 1


def test_an_allowed_origin_gets_our_cors_and_never_credentials(start_proxy: StartProxy, upstream: FakeLlama) -> None:
    proxy = start_proxy({"cors": {"allowedOrigins": [APP], "maxAgeSeconds": 120}})
    pre = request(proxy.port, "OPTIONS", "/v1/chat/completions", PREFLIGHT)
    assert pre.status == 204
    assert (pre.headers["Access-Control-Allow-Origin"], pre.headers["Access-Control-Allow-Methods"],
            pre.headers["Access-Control-Max-Age"], pre.headers["Vary"]) == (APP, "POST", "120", "Origin")
    assert pre.headers["Access-Control-Allow-Headers"] == "Authorization, Content-Type"
    assert "Access-Control-Allow-Credentials" not in pre.headers
    assert upstream.requests == []  # the preflight is answered by the proxy, without a key
    # a method the endpoint does not have, another origin, a path outside the API: 403
    for method, origin, path in (("GET", APP, "/v1/chat/completions"), ("POST", "https://evil.example", "/v1/completions"),
                                 ("POST", APP, "/props")):
        headers = [("Origin", origin), ("Access-Control-Request-Method", method)]
        assert request(proxy.port, "OPTIONS", path, headers).status == 403
    # the real request: our Allow-Origin, not llama-server's reflection of anything with credentials
    echo = b'{"x_headers": {"Access-Control-Allow-Origin": "https://evil.example", "Access-Control-Allow-Credentials": "true"}}'
    reply = request(proxy.port, "POST", "/v1/chat/completions", [*bearer(KEY), ("Origin", APP)], echo)
    assert reply.status == 200
    assert reply.headers.get_all("Access-Control-Allow-Origin") == [APP]
    assert "Access-Control-Allow-Credentials" not in reply.headers
    # a refusal is readable by the page too
    refused = request(proxy.port, "GET", "/v1/models", [("Origin", APP)])
    assert (refused.status, refused.headers["Access-Control-Allow-Origin"]) == (401, APP)
    other = request(proxy.port, "POST", "/v1/chat/completions", [*bearer(KEY), ("Origin", "https://evil.example")], echo)
    assert "Access-Control-Allow-Origin" not in other.headers
