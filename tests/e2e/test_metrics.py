"""Metrics of the real pair, scraped as Prometheus would: on the proxy's metrics port, without the key, after
real chat, streaming and embeddings calls; every scrape parsed with prometheus_client's parser.

The metric names seen here are committed in tests/e2e/seen-metrics.txt, which tests/unit/test_monitoring.py
holds every alert and dashboard query to. After a change of what is exposed, rerun with
GEMMA_GITOPS_UPDATE_SEEN_METRICS=1 to rewrite the file, and review its diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from testkit.proxy_client import bearer, opened, read_events
from tests.e2e.api import KEY, call, chat_body, embeddings_body, ok_json
from tests.e2e.conftest import Stack
from tests.exposition import Exposition, scrape, settled

pytestmark = pytest.mark.e2e

SEEN = Path(__file__).with_name("seen-metrics.txt")
UPDATE_ENV = "GEMMA_GITOPS_UPDATE_SEEN_METRICS"
LLAMA_PATH = "/metrics/llama-server"


def scrapes(stack: Stack) -> tuple[Exposition, Exposition]:
    """The proxy's exposition (once its counts settle) and llama-server's, both from the metrics port."""
    port = stack.proxy.metrics_port
    assert port is not None, "metrics.enabled is the default: the proxy has a metrics port"
    return settled(lambda: scrape(port)), scrape(port, LLAMA_PATH)


def family_names(exposition: Exposition) -> set[str]:
    """The names PromQL queries use: a histogram's series names (_bucket, _sum, _count) and every other sample's."""
    return exposition.names


def alias(stack: Stack) -> str:
    return str(stack.values["model"]["alias"])


def streamed(stack: Stack) -> int:
    """One streamed chat through the proxy; the number of content events it carried."""
    headers = [*bearer(KEY), ("Content-Type", "application/json")]
    body = json.dumps(chat_body(alias(stack), stream=True, max_tokens=8)).encode()
    with opened(stack.proxy.port, "POST", "/v1/chat/completions", headers, body, timeout=120) as response:
        assert response.status == 200
        events = list(read_events(response))
    return sum(1 for _, event in events if b'"content":"' in event and not event.endswith(b"[DONE]"))


def test_real_calls_move_the_proxys_and_llama_servers_counters(stack: Stack) -> None:
    """Two chats, one stream and one embeddings call: the proxy counts each by group, class and streaming;
    llama-server counts exactly the tokens its answers reported."""
    proxy_before, llama_before = scrapes(stack)
    predicted = 0
    for _ in range(2):
        data = ok_json(call(stack.proxy.port, "POST", "/v1/chat/completions", chat_body(alias(stack), max_tokens=8)))
        predicted += data["usage"]["completion_tokens"]
    assert streamed(stack) >= 1
    ok_json(call(stack.proxy.port, "POST", "/v1/embeddings", embeddings_body(alias(stack), ["The sea is calm."])))
    assert call(stack.proxy.port, "GET", "/v1/models", key="sk-gemma-e2e-wrong-0123456789").status == 401
    proxy_after, llama_after = scrapes(stack)

    def moved(before: Exposition, after: Exposition, name: str, **labels: str) -> float:
        return after.total(name, **labels) - before.total(name, **labels)

    assert moved(proxy_before, proxy_after, "gemma_proxy_requests_total", group="chat", status="2xx") == 3
    assert moved(proxy_before, proxy_after, "gemma_proxy_requests_total", group="embeddings", status="2xx") == 1
    assert moved(proxy_before, proxy_after, "gemma_proxy_requests_total", group="models", status="4xx") == 1
    assert moved(proxy_before, proxy_after, "gemma_proxy_refusals_total", reason="wrong_key") == 1
    for histogram in ("gemma_proxy_request_duration_seconds", "gemma_proxy_time_to_first_byte_seconds"):
        assert moved(proxy_before, proxy_after, f"{histogram}_count", stream="true") == 1
        assert moved(proxy_before, proxy_after, f"{histogram}_count", stream="false") == 3
        assert moved(proxy_before, proxy_after, f"{histogram}_sum", stream="true") > 0
    assert proxy_after.value("gemma_proxy_active_streams") == 0
    assert proxy_after.value("gemma_proxy_keys_loaded") == 1
    # (The readiness wait's /health calls before llama-server listened were 502s: counted before this test.)
    assert moved(proxy_before, proxy_after, "gemma_proxy_upstream_errors_total") == 0
    # llama-server's own: the non-streamed answers' completion tokens exactly, plus the stream's.
    tokens = moved(llama_before, llama_after, "llamacpp:tokens_predicted_total")
    assert predicted + 1 <= tokens <= predicted + 8, (predicted, tokens)
    assert moved(llama_before, llama_after, "llamacpp:prompt_tokens_total") > 0
    assert moved(llama_before, llama_after, "llamacpp:n_decode_total") >= tokens / stack.values["llama"].get("parallel", 1)
    assert llama_after.value("llamacpp:requests_processing") == 0
    assert llama_after.value("llamacpp:requests_deferred") == 0


def test_metrics_need_no_key_on_their_port_and_the_api_port_never_serves_them(stack: Stack) -> None:
    assert stack.proxy.metrics_port is not None
    for path in ("/metrics", LLAMA_PATH):
        assert call(stack.proxy.port, "GET", path).status == 404, path
        assert call(stack.proxy.port, "GET", path, key=None).status == 401, path
        assert call(stack.proxy.metrics_port, "GET", path, key=None).status == 200, path
    _, llama = scrapes(stack)
    assert KEY not in llama.text


def test_the_seen_metric_names_are_committed(stack: Stack) -> None:
    """Every name both expositions carry, as tests/e2e/seen-metrics.txt lists them."""
    proxy, llama = scrapes(stack)
    seen = sorted(family_names(proxy) | family_names(llama))
    text = "".join(f"{name}\n" for name in seen)
    if os.environ.get(UPDATE_ENV) == "1":
        SEEN.write_text(text, encoding="utf-8")
    assert SEEN.read_text(encoding="utf-8") == text, f"the exposed names changed: rerun with {UPDATE_ENV}=1"
