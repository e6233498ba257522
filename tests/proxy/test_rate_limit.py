"""The optional rate limit (proxy.rateLimit): off by default; per key or per client; 429 in JSON."""

from __future__ import annotations

from testkit.fake_llama import FakeLlama
from testkit.nginx import Proxy, error_json
from testkit.proxy_client import bearer, request
from tests.proxy.conftest import KEY, OTHER_KEY, StartProxy

BURST = 2


def limited(by: str) -> dict[str, object]:
    """A limit far below what a test sends: 1 request a second plus a burst of BURST."""
    return {"rateLimit": {"enabled": True, "by": by, "requestsPerSecond": 1, "burst": BURST}}


def statuses(proxy: Proxy, headers: list[tuple[str, str]], count: int) -> list[int]:
    return [request(proxy.port, "GET", "/v1/models", headers).status for _ in range(count)]


def test_it_is_off_by_default(proxy: Proxy) -> None:
    assert statuses(proxy, bearer(KEY), 30) == [200] * 30


def test_a_key_over_its_rate_gets_429_json_and_nothing_reaches_the_upstream(start_proxy: StartProxy, upstream: FakeLlama) -> None:
    proxy = start_proxy(limited("key"), key_text=f"{KEY}\n{OTHER_KEY}\n")
    got = statuses(proxy, bearer(KEY), 10)
    allowed = got.count(200)
    assert BURST + 1 <= allowed <= BURST + 2  # the burst, plus a token if a second went by
    assert got.count(429) == 10 - allowed
    assert len(upstream.requests) == allowed
    reply = request(proxy.port, "GET", "/v1/models", bearer(KEY))
    assert reply.status == 429
    assert (reply.headers["Content-Type"], reply.headers["Retry-After"]) == ("application/json", "1")
    error = error_json(reply.body)
    assert (error["type"], error["code"]) == ("rate_limit_error", "rate_limit_exceeded")
    assert statuses(proxy, bearer(OTHER_KEY), 1) == [200]  # each key has its own budget


def test_refused_requests_cost_no_budget(start_proxy: StartProxy) -> None:
    proxy = start_proxy(limited("key"))
    assert statuses(proxy, [("Authorization", "Bearer sk-gemma-wrong-0123456789abcdef")], 10) == [401] * 10
    assert statuses(proxy, [], 10) == [401] * 10
    assert statuses(proxy, bearer(KEY), BURST + 1) == [200] * (BURST + 1)


def test_the_probe_path_is_never_limited(start_proxy: StartProxy) -> None:
    proxy = start_proxy(limited("key"))
    assert [request(proxy.port, "GET", "/health").status for _ in range(10)] == [200] * 10


def test_a_client_is_the_address_envoy_appended(start_proxy: StartProxy) -> None:
    """By client: the last X-Forwarded-For entry counts; what the client wrote before it does not."""
    proxy = start_proxy(limited("client"))
    first = [*bearer(KEY), ("X-Forwarded-For", "198.51.100.1, 203.0.113.1")]
    spoofed = [*bearer(KEY), ("X-Forwarded-For", "192.0.2.99, 203.0.113.1")]
    second = [*bearer(KEY), ("X-Forwarded-For", "198.51.100.1, 203.0.113.2")]
    assert statuses(proxy, first, BURST + 1) == [200] * (BURST + 1)
    assert statuses(proxy, spoofed, 2) == [429, 429]
    assert statuses(proxy, second, 1) == [200]
