"""render.proxy_limits: the auth proxy's limits from the slots, the context and the memory limit."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from generator.errors import TemplateError
from generator.render import (
    PROXY_BODY_FACTOR,
    PROXY_CONNECTION_BYTES,
    PROXY_FIXED_BYTES,
    PROXY_REQUEST_BYTES,
    PROXY_SLOT_BYTES,
    PROXY_WORKER_BYTES,
    llama_args,
    proxy_limits,
    proxy_memory,
)
from generator.settings import Settings
from generator.values import load_environment, load_schema
from tests.conftest import REPO

MiB = 1024 * 1024


def values(env: str = "prod", **proxy: Any) -> dict[str, Any]:
    settings = Settings(root=REPO)
    merged = copy.deepcopy(dict(load_environment(env, settings, load_schema(settings)).values))
    for key, value in proxy.items():
        merged["proxy"][key] = value
    return merged


def with_llama(merged: dict[str, Any], **llama: Any) -> dict[str, Any]:
    merged["llama"].update(llama)
    return merged


def test_prod_defaults() -> None:
    """Gemma 3 1B, 4096 tokens, one slot, 64Mi: 1 request per key, 2 per client, 4 in all, 2048 tokens."""
    limits = proxy_limits(values())
    assert (limits.concurrent_per_key, limits.concurrent_per_client, limits.concurrent_requests) == (1, 2, 4)
    assert limits.max_tokens == 2048
    assert limits.completion_body_bytes == 128 * 1024
    assert limits.memory_limit_bytes == 64 * MiB
    assert limits.worker_connections == 1065
    assert limits.run_dir_mib == 4 * 8 + 8
    assert limits.memory_worst_bytes <= 0.75 * limits.memory_limit_bytes


@pytest.mark.parametrize(("llama", "max_tokens", "body_kib"), [
    ({"contextSize": 2048}, 1024, 64),
    ({"contextSize": 8192, "parallel": 2}, 2048, 128),  # 4096 tokens a slot
    ({"contextSize": 8192, "parallel": 2, "kvUnified": True}, 4096, 256),  # a unified cache: a slot may use all
    ({"contextSize": 131072}, 65536, 4096),
])
def test_the_ceilings_follow_the_context_one_slot_holds(llama: dict[str, Any], max_tokens: int, body_kib: int) -> None:
    merged = with_llama(values(maxRequestBodyMiB=64, resources={"limits": {"memory": "256Mi"}}), **llama)
    limits = proxy_limits(merged)
    assert (limits.max_tokens, limits.completion_body_bytes // 1024) == (max_tokens, body_kib)


def test_the_body_ceiling_is_at_least_64_kib_and_at_most_max_request_body() -> None:
    merged = with_llama(values(maxRequestBodyMiB=1, resources={"limits": {"memory": "512Mi"}}), contextSize=131072)
    assert proxy_limits(merged).completion_body_bytes == MiB
    assert proxy_limits(with_llama(values(), contextSize=512)).completion_body_bytes == 64 * 1024


def test_values_set_explicitly_win() -> None:
    limits = proxy_limits(values(limits={"concurrentRequests": 2, "concurrentPerKey": 2, "concurrentPerClient": 1,
                                         "maxTokens": 100, "completionBodyKiB": 64, "failedAuthPerMinute": 5},
                                 workerConnections=256))
    assert (limits.concurrent_requests, limits.concurrent_per_key, limits.concurrent_per_client, limits.max_tokens,
            limits.completion_body_bytes, limits.worker_connections) == (2, 2, 1, 100, 64 * 1024, 256)


def test_slots_scale_the_concurrency() -> None:
    limits = proxy_limits(with_llama(values(), parallel=3))
    assert (limits.concurrent_per_key, limits.concurrent_per_client, limits.concurrent_requests) == (3, 6, 12)


def test_the_memory_model_adds_up() -> None:
    assert proxy_memory(1, 0, 0, 0) == PROXY_FIXED_BYTES
    assert proxy_memory(2, 10, 3, 1000) == (PROXY_FIXED_BYTES + PROXY_WORKER_BYTES
                                            + 2 * 10 * (PROXY_SLOT_BYTES + PROXY_CONNECTION_BYTES)
                                            + 3 * (PROXY_REQUEST_BYTES + PROXY_BODY_FACTOR * 1000))


def test_worker_connections_are_what_fits_three_quarters_of_the_limit() -> None:
    limits = proxy_limits(values())
    usable = 0.75 * 64 * MiB
    assert proxy_memory(1, limits.worker_connections, 4, limits.completion_body_bytes) <= usable
    assert proxy_memory(1, limits.worker_connections + 1, 4, limits.completion_body_bytes) > usable
    assert proxy_limits(values(resources={"limits": {"memory": "32Mi"}})).worker_connections < limits.worker_connections
    assert proxy_limits(values(workerProcesses=2)).worker_connections < limits.worker_connections


@pytest.mark.parametrize(("proxy", "message"), [
    ({"resources": {"limits": {"memory": "16Mi"}}}, "are fewer than the 88"),
    ({"workerConnections": 4000}, "4000 worker connections and 4 requests in flight need"),
    ({"workerConnections": 80}, "80 worker connections are fewer than the 88 that 4 requests"),
    ({"limits": {"concurrentRequests": 200}}, "200 requests in flight"),
])
def test_what_cannot_fit_fails_the_render_and_says_what_to_change(proxy: dict[str, Any], message: str) -> None:
    with pytest.raises(TemplateError) as raised:
        proxy_limits(values(**proxy) if "limits" not in proxy else values(limits={**values()["proxy"]["limits"],
                                                                                  **proxy["limits"]}))
    text = "\n".join(raised.value.lines())
    assert "the auth proxy does not fit its memory limit" in text and message in text
    assert "proxy.limits.concurrentRequests" in text


def test_llama_server_defaults_to_the_ceiling() -> None:
    args = llama_args(values(limits={**values()["proxy"]["limits"], "maxTokens": 300}))
    assert args[args.index("--n-predict") + 1] == "300"
