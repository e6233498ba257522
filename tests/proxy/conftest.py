"""Fixtures for the proxy tests: a real nginx with the Lua module, the fake llama-server, keys.

Without nginx and its Lua module these tests skip, saying how to install them; with
GEMMA_GITOPS_REQUIRE_NGINX=1 (CI sets it) they fail instead, so CI can never pass by skipping.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack
from typing import Any

import pytest

from testkit.fake_llama import FakeLlama
from testkit.nginx import INSTALL_HINT, REQUIRE_ENV, Proxy, Runtime, find_runtime, running_proxy

KEY = "sk-gemma-test-0123456789abcdef"  # the key the shared proxy accepts
OTHER_KEY = "sk-gemma-next-fedcba9876543210"  # a second key, for rotation and per-key limits
# The shared proxy: two workers (each keeps its own key cache), a 1 s key reload, room for the
# 1 MB and 3 MiB bodies, and a 4 MiB limit to exceed. Its limits are out of the way (50 streams at
# once, a failed authentication per test case) and the memory limit raised to fit them; the tests of
# the limits start proxies with the defaults.
SHARED_LIMITS: dict[str, int] = {"concurrentRequests": 64, "concurrentPerKey": 64, "concurrentPerClient": 64,
                                 "failedAuthPerMinute": 1000000}
SHARED_VALUES: dict[str, Any] = {"workerProcesses": 2, "keyReloadSeconds": 1, "maxRequestBodyMiB": 4,
                                 "limits": SHARED_LIMITS, "resources": {"limits": {"cpu": "1", "memory": "256Mi"}}}

StartProxy = Callable[..., Proxy]


@pytest.fixture(scope="session")
def runtime() -> Runtime:
    """nginx with the Lua module, or a skip (a failure under GEMMA_GITOPS_REQUIRE_NGINX=1)."""
    found = find_runtime()
    if found is None:
        message = f"nginx with the Lua module is not installed; {INSTALL_HINT}"
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"{message} ({REQUIRE_ENV}=1)", pytrace=False)
        pytest.skip(message)
    return found


@pytest.fixture(scope="session")
def upstream() -> Iterator[FakeLlama]:
    """The fake llama-server, shared by every test and reset before each."""
    fake = FakeLlama().start()
    yield fake
    fake.stop()


@pytest.fixture(autouse=True)
def _fresh_upstream(upstream: FakeLlama) -> None:
    upstream.reset()


@pytest.fixture(scope="session")
def proxy(runtime: Runtime, upstream: FakeLlama) -> Iterator[Proxy]:
    """The shared proxy, accepting KEY; tests that change its keys start their own."""
    with running_proxy(runtime, upstream.port, SHARED_VALUES, key_text=f"{KEY}\n") as running:
        yield running


@pytest.fixture
def start_proxy(runtime: Runtime, upstream: FakeLlama) -> Iterator[StartProxy]:
    """Start a proxy of its own for one test: start_proxy(proxy_values, key_text=..., upstream_port=..., metrics=...)."""
    with ExitStack() as stack:
        def start(proxy_values: dict[str, Any] | None = None, key_text: str | None = f"{KEY}\n",
                  upstream_port: int | None = None, metrics: dict[str, Any] | None = None) -> Proxy:
            values = {**SHARED_VALUES, **(proxy_values or {})}
            context: AbstractContextManager[Proxy] = running_proxy(
                runtime, upstream.port if upstream_port is None else upstream_port, values, key_text, metrics=metrics)
            return stack.enter_context(context)
        yield start
