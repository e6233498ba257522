"""plan.proxy_limits: the auth proxy's limits from the slots, the context and the memory limit."""

from __future__ import annotations

from typing import Any

import pytest

from generator import guards
from generator.capacity.proxy import (
    PROXY_BODY_FACTOR,
    PROXY_CONNECTION_BYTES,
    PROXY_FIXED_BYTES,
    PROXY_REQUEST_BYTES,
    PROXY_SLOT_BYTES,
    PROXY_WORKER_BYTES,
    proxy_memory,
)
from generator.plan import ProxyLimits
from generator.problems import errors_of
from generator.render import llama_args
from tests.plans import plan_for

MiB = 1024 * 1024
ROOMY = {"proxy__maxRequestBodyMiB": 64, "proxy__resources__limits__memory": "256Mi",
         "proxy__resources__requests__memory": "32Mi"}


def limits(**changes: Any) -> ProxyLimits:
    """The proxy limits of the reference deployment after changes (path__with__dunders=value)."""
    return plan_for("prod", **changes).proxy_limits


def test_prod_defaults() -> None:
    """Gemma 3 1B, 4096 tokens, one slot, 64Mi: 1 request per key, 2 per client, 4 in all, 2048 tokens."""
    found = limits()
    assert (found.concurrent_per_key, found.concurrent_per_client, found.concurrent_requests) == (1, 2, 4)
    assert found.max_tokens == 2048
    assert found.completion_body_bytes == 128 * 1024
    assert found.memory_limit_bytes == 64 * MiB
    assert found.worker_connections == 1025  # 1065 with metrics off: the dictionary and exposition take 1.3 MiB
    assert found.run_dir_mib == 4 * 8 + 8
    assert found.memory_worst_bytes <= 0.75 * found.memory_limit_bytes


@pytest.mark.parametrize(("llama", "max_tokens", "body_kib"), [
    ({"llama__contextSize": 2048}, 1024, 64),
    ({"llama__contextSize": 8192, "llama__parallel": 2}, 2048, 128),  # 4096 tokens a slot
    ({"llama__contextSize": 8192, "llama__parallel": 2, "llama__kvUnified": True}, 4096, 256),  # a slot may use all
    ({"llama__contextSize": 131072, "llama__resources__limits__memory": "16Gi"}, 65536, 4096),
])
def test_the_ceilings_follow_the_context_one_slot_holds(llama: dict[str, Any], max_tokens: int, body_kib: int) -> None:
    found = limits(**ROOMY, **llama)
    assert (found.max_tokens, found.completion_body_bytes // 1024) == (max_tokens, body_kib)


def test_the_body_ceiling_is_at_least_64_kib_and_at_most_max_request_body() -> None:
    assert limits(proxy__maxRequestBodyMiB=1, proxy__resources__limits__memory="512Mi", llama__contextSize=131072,
                  llama__resources__limits__memory="16Gi").completion_body_bytes == MiB
    assert limits(llama__contextSize=512).completion_body_bytes == 64 * 1024


def test_values_set_explicitly_win() -> None:
    found = limits(proxy__limits={"concurrentRequests": 2, "concurrentPerKey": 2, "concurrentPerClient": 1,
                                  "maxTokens": 100, "completionBodyKiB": 64, "failedAuthPerMinute": 5},
                   proxy__workerConnections=256)
    assert (found.concurrent_requests, found.concurrent_per_key, found.concurrent_per_client, found.max_tokens,
            found.completion_body_bytes, found.worker_connections) == (2, 2, 1, 100, 64 * 1024, 256)


def test_slots_scale_the_concurrency() -> None:
    found = limits(llama__parallel=3, llama__contextSize=6144)
    assert (found.concurrent_per_key, found.concurrent_per_client, found.concurrent_requests) == (3, 6, 12)


def test_the_memory_model_adds_up() -> None:
    assert proxy_memory(1, 0, 0, 0) == PROXY_FIXED_BYTES
    assert proxy_memory(2, 10, 3, 1000) == (PROXY_FIXED_BYTES + PROXY_WORKER_BYTES
                                            + 2 * 10 * (PROXY_SLOT_BYTES + PROXY_CONNECTION_BYTES)
                                            + 3 * (PROXY_REQUEST_BYTES + PROXY_BODY_FACTOR * 1000))


def test_worker_connections_are_what_fits_three_quarters_of_the_limit() -> None:
    found = limits()
    usable = 0.75 * 64 * MiB
    assert proxy_memory(1, found.worker_connections, 4, found.completion_body_bytes, metrics=True) <= usable
    assert proxy_memory(1, found.worker_connections + 1, 4, found.completion_body_bytes, metrics=True) > usable
    assert limits(metrics__enabled=False).worker_connections > found.worker_connections
    assert limits(proxy__resources__limits__memory="32Mi").worker_connections < found.worker_connections
    assert limits(proxy__workerProcesses=2).worker_connections < found.worker_connections


@pytest.mark.parametrize(("changes", "message"), [
    ({"proxy__resources__limits__memory": "16Mi", "proxy__resources__requests__memory": "16Mi"}, "are fewer than the 88"),
    ({"proxy__workerConnections": 4000}, "4000 worker connections and 4 requests in flight need"),
    ({"proxy__workerConnections": 80}, "80 worker connections are fewer than the 88 that 4 requests"),
    ({"proxy__limits": {"concurrentRequests": 200}}, "200 requests in flight"),
])
def test_what_cannot_fit_fails_the_render_and_says_what_to_change(changes: dict[str, Any], message: str) -> None:
    problems = errors_of(guards.run(plan_for("prod", **changes)))
    assert [p.rule for p in problems] == ["proxy-memory"]
    assert message in problems[0].message and "proxy.limits.concurrentRequests" in problems[0].message


def test_llama_server_defaults_to_the_ceiling() -> None:
    args = llama_args(plan_for("prod", proxy__limits={"maxTokens": 300}))
    assert args[args.index("--n-predict") + 1] == "300"
