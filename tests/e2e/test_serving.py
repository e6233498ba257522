"""Through the proxy, with the key: every endpoint clients use answers in the OpenAI shape."""

from __future__ import annotations

import json

import pytest

from generator.capacity.catalog import lookup
from testkit.proxy_client import bearer, opened, read_events
from tests.e2e.api import KEY, call, chat_body, completion_body, embeddings_body, ok_json
from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e

DONE = b"data: [DONE]"
STREAM_THEN_POST_ROUNDS = 10  # without the proxy's retry of a closed pooled connection, 1 in 4 failed


def alias(stack: Stack) -> str:
    """The model name clients send, from the values."""
    return str(stack.values["model"]["alias"])


def test_chat_completion(stack: Stack) -> None:
    data = ok_json(call(stack.proxy.port, "POST", "/v1/chat/completions", chat_body(alias(stack))))
    assert data["object"] == "chat.completion"
    assert data["model"] == alias(stack)
    [choice] = data["choices"]
    assert choice["message"]["role"] == "assistant"
    assert isinstance(choice["message"]["content"], str) and choice["message"]["content"].strip()
    assert choice["finish_reason"] in ("stop", "length")
    assert data["usage"]["completion_tokens"] > 0
    assert data["usage"]["total_tokens"] == data["usage"]["prompt_tokens"] + data["usage"]["completion_tokens"]


def test_chat_completion_streams_token_by_token(stack: Stack) -> None:
    """Server-sent events arrive as they are generated, through the proxy, and end with [DONE]."""
    headers = [*bearer(KEY), ("Content-Type", "application/json")]
    body = json.dumps(chat_body(alias(stack), stream=True, max_tokens=16)).encode()
    with opened(stack.proxy.port, "POST", "/v1/chat/completions", headers, body, timeout=120) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/event-stream")
        events = list(read_events(response))
    assert events and events[-1][1] == DONE, [e for _, e in events[-3:]]
    chunks = [(at, json.loads(event.removeprefix(b"data: "))) for at, event in events[:-1]]
    assert all(chunk["object"] == "chat.completion.chunk" for _, chunk in chunks)
    content = [at for at, chunk in chunks if chunk["choices"] and chunk["choices"][0]["delta"].get("content")]
    assert len(content) >= 2, f"{len(content)} content chunks in {len(chunks)} events"
    assert content[0] < content[-1], "the first token arrived together with the last: the stream was buffered"


def test_a_request_right_after_a_stream_is_not_dropped(stack: Stack) -> None:
    """llama-server closes its connection after every stream although it announces keep-alive; the
    proxy's pooled upstream connection must not turn the next request into a 502 (it did, 1 in 4)."""
    headers = [*bearer(KEY), ("Content-Type", "application/json")]
    stream = json.dumps(chat_body(alias(stack), stream=True, max_tokens=2)).encode()
    statuses = []
    for _ in range(STREAM_THEN_POST_ROUNDS):
        with opened(stack.proxy.port, "POST", "/v1/chat/completions", headers, stream, timeout=120) as response:
            response.read()
        reply = call(stack.proxy.port, "POST", "/v1/embeddings", embeddings_body(alias(stack), ["next"]))
        statuses += [response.status, reply.status]
    assert set(statuses) == {200}, statuses


def test_text_completion(stack: Stack) -> None:
    data = ok_json(call(stack.proxy.port, "POST", "/v1/completions", completion_body(alias(stack))))
    assert data["object"] == "text_completion"
    [choice] = data["choices"]
    assert isinstance(choice["text"], str) and choice["text"]
    assert data["usage"]["completion_tokens"] > 0


def test_models_lists_the_alias_clients_send(stack: Stack) -> None:
    data = ok_json(call(stack.proxy.port, "GET", "/v1/models"))
    assert data["object"] == "list"
    assert [model["id"] for model in data["data"]] == [alias(stack)]


def test_embeddings_have_the_models_width(stack: Stack) -> None:
    """--embeddings --pooling mean: one vector per input, as wide as the model (nEmbd from the catalog)."""
    entry = lookup(stack.values["model"]["hfRepo"], stack.values["model"]["hfFile"])
    assert entry is not None
    inputs = ["The sea is calm.", "A second, longer sentence about the weather at sea."]
    data = ok_json(call(stack.proxy.port, "POST", "/v1/embeddings", embeddings_body(alias(stack), inputs)))
    assert data["object"] == "list"
    assert [item["index"] for item in data["data"]] == [0, 1]
    assert [len(item["embedding"]) for item in data["data"]] == [entry.geometry.n_embd] * 2
    assert data["usage"]["prompt_tokens"] > 0


def test_slots_show_the_rendered_slots(stack: Stack, budget: dict[str, object]) -> None:
    """/slots is on by default in this build; one slot per llama.parallel, each with the planned context."""
    slots = ok_json(call(stack.proxy.port, "GET", "/slots"))
    cells = budget["kvCells"]
    assert isinstance(cells, dict)
    assert [slot["id"] for slot in slots] == list(range(stack.values["llama"]["parallel"]))
    assert {slot["n_ctx"] for slot in slots} == {cells["nCtxSeq"]}


def test_health_needs_no_key(stack: Stack) -> None:
    reply = call(stack.proxy.port, "GET", "/health", key=None)
    assert (reply.status, json.loads(reply.body)) == (200, {"status": "ok"})


def test_an_extra_arg_runs_for_real(stack: Stack) -> None:
    """llama.extraArgs: ["--top-k", "39"] reached llama-server (it refuses a flag it does not know): its own
    /props, read on loopback past the proxy, has it as the default sampling setting."""
    assert stack.values["llama"]["extraArgs"] == ["--top-k", "39"]
    props = ok_json(call(stack.outside.port, "GET", "/props", key=None))
    assert props["default_generation_settings"]["params"]["top_k"] == 39
