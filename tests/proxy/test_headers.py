"""Header hygiene: llama-server's response headers pass an allowlist; llama-server gets only the
request headers it needs; the client address comes from the trusted hops' X-Forwarded-For entries, and
the proxy listens only on the port the NetworkPolicy admits the gateway to.

The finding: upstream Set-Cookie, Access-Control-*, Upgrade, Proxy-Authenticate and internal Location
reached clients; X-Api-Key, Cookie, Forwarded, X-Forwarded-For and X-Real-IP reached llama-server.
"""

from __future__ import annotations

import json
import re

import pytest

from generator.settings import Settings
from testkit.fake_llama import FakeLlama
from testkit.nginx import PROJECT_ROOT, Proxy, configmap_data
from testkit.proxy_client import bearer, request
from tests.proxy.conftest import KEY, StartProxy

UPSTREAM_HEADERS = {
    "Set-Cookie": "session=abc; HttpOnly", "Access-Control-Allow-Origin": "*", "Access-Control-Allow-Credentials": "true",
    "Upgrade": "h2c", "Proxy-Authenticate": "Basic realm=x", "Location": "http://127.0.0.1:8000/internal",
    "X-Internal-Debug": "model=/models/gemma.gguf", "WWW-Authenticate": "Basic", "Link": "</x>; rel=preload",
    "X-Request-Id": "req-123", "Server": "llama.cpp",
}
CLIENT_HEADERS = [
    ("X-Api-Key", "sk-somewhere-else-0123456789"), ("Cookie", "session=abc"), ("Forwarded", "for=192.0.2.1"),
    ("X-Forwarded-For", "192.0.2.1, 203.0.113.9"), ("X-Real-IP", "192.0.2.1"), ("X-Forwarded-Host", "evil.example"),
    ("User-Agent", "test"), ("Accept", "text/event-stream"), ("Proxy-Authorization", "Basic eDp5"), ("Upgrade", "h2c"),
    ("Expect", "100-continue"), ("TE", "trailers"), ("X-Custom", "1"),
]


def test_only_allowed_response_headers_reach_the_client(proxy: Proxy) -> None:
    body = json.dumps({"x_headers": UPSTREAM_HEADERS}).encode()
    reply = request(proxy.port, "POST", "/v1/chat/completions", bearer(KEY), body)
    assert reply.status == 200
    names = {name.lower() for name in reply.headers}
    assert names == {"content-type", "content-length", "x-request-id", "x-accel-buffering", "date", "server",
                     "connection"}, names
    assert reply.headers["X-Request-Id"] == "req-123"
    assert reply.headers["Server"] == "nginx"  # nginx's own, without its version (server_tokens off)


def test_llama_server_cannot_redirect_nginx_to_another_location(proxy: Proxy) -> None:
    """X-Accel-Redirect from upstream would make nginx serve one of its own locations instead of the reply."""
    body = json.dumps({"x_headers": {"X-Accel-Redirect": "/_error/502"}}).encode()
    reply = request(proxy.port, "POST", "/v1/chat/completions", bearer(KEY), body)
    assert reply.status == 200
    assert "error" not in json.loads(reply.body), reply.body


def test_llama_server_gets_only_what_it_needs(proxy: Proxy, upstream: FakeLlama) -> None:
    headers = [*bearer(KEY), *CLIENT_HEADERS, ("Content-Type", "application/json")]
    assert request(proxy.port, "POST", "/v1/embeddings", headers, b'{"input": "x"}').status == 200
    assert request(proxy.port, "GET", "/v1/models", [*bearer(KEY), *CLIENT_HEADERS]).status == 200
    post, get = upstream.requests
    assert sorted(post.header_names) == ["Content-Length", "Content-Type", "Host"]
    assert post.headers["content-type"] == "application/json"
    assert get.header_names == ("Host",)


@pytest.mark.parametrize(("hops", "forwarded", "expected"), [
    (1, "192.0.2.1, 203.0.113.9", "203.0.113.9"),  # Envoy appended the last entry
    (2, "192.0.2.1, 203.0.113.9, 10.0.0.3", "203.0.113.9"),  # a load balancer, then Envoy
    (1, "", "127.0.0.1"),  # nothing forwarded: the peer
    (0, "192.0.2.1, 203.0.113.9", "127.0.0.1"),  # X-Forwarded-For ignored
    (1, "192.0.2.1, not-an-address", "127.0.0.1"),  # a garbled entry: the peer, never the client's text
    (1, "2001:db8::1", "2001:db8::1"),
])
def test_the_client_address_is_what_the_trusted_hops_saw(start_proxy: StartProxy, hops: int, forwarded: str,
                                                         expected: str) -> None:
    proxy = start_proxy({"trustedHops": hops})
    headers = [*bearer(KEY), *([("X-Forwarded-For", forwarded)] if forwarded else [])]
    assert request(proxy.port, "GET", "/v1/models", headers).status == 200
    (line,) = proxy.read_access_log().splitlines()
    assert line.split()[1] == expected, line


@pytest.mark.parametrize("env", ["prod", "staging"])
def test_the_proxy_listens_only_where_the_network_policy_admits_the_gateway(env: str) -> None:
    """Two listening sockets: the proxy's port, which the NetworkPolicy opens to the gateway's namespace
    only and the Service targets, and the metrics port, open to the monitoring namespace only and in no
    Service; llama-server is on loopback."""
    from generator.plan import build_plan
    from generator.render import render_plan
    from generator.values import load_environment, load_schema

    settings = Settings(root=PROJECT_ROOT)
    plan = build_plan(load_environment(env, settings, load_schema(settings)))
    manifests = {m.identity.kind: m.doc for m in render_plan(plan) if m.path.startswith("rendered/")}
    conf = configmap_data(settings, env)["nginx.conf"]
    listens = re.findall(r"^\s*listen\s+([^;]+);", conf, re.MULTILINE)
    admitted = {str(rule["ports"][0]["port"]): rule["from"] for rule in manifests["NetworkPolicy"]["spec"]["ingress"]}
    assert sorted(listens) == sorted(admitted) == ["8080", "9090"]
    assert admitted == {port: [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}}}]
                        for port, namespace in (("8080", "envoy-gateway-system"), ("9090", "monitoring"))}
    assert [port["targetPort"] for port in manifests["Service"]["spec"]["ports"]] == ["http"]
    assert re.search(r"server 127\.0\.0\.1:\d+;", conf)
