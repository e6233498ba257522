"""Without the key every protected call gets 401 from the proxy and never reaches llama-server.

The proof does not trust the proxy: llama-server is frozen (SIGSTOP) while the calls are made, so a
call forwarded to it would hang instead of getting its 401; after it thaws, its own log shows no task
for any of them, only for the one authenticated call made afterwards as a control.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from testkit.llama import frozen
from tests.e2e.api import call, chat_body, completion_body, embeddings_body, ok_json
from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e

TASK_STARTED = "processing task"  # llama-server logs this (verbosity 3) for every completion or embedding task
WRONG_KEY = "sk-gemma-e2e-not-the-key-0000000"
FROZEN_WAIT = 10.0  # seconds; the proxy answers a refused call in about a millisecond


def protected(alias: str) -> list[tuple[str, str, dict[str, Any] | None]]:
    return [
        ("POST", "/v1/chat/completions", chat_body(alias)),
        ("POST", "/v1/chat/completions", chat_body(alias, stream=True)),
        ("POST", "/v1/completions", completion_body(alias)),
        ("GET", "/v1/models", None),
        ("POST", "/v1/embeddings", embeddings_body(alias, ["hello"])),
        ("GET", "/slots", None),
    ]


def test_without_the_key_nothing_reaches_llama_server(stack: Stack) -> None:
    alias = stack.values["model"]["alias"]
    tasks_before = stack.llama.log_text().count(TASK_STARTED)
    access_before = len(stack.proxy.read_access_log().splitlines())
    refused = []
    with frozen(stack.llama.process):
        for method, path, body in protected(alias):
            for key in (None, WRONG_KEY):
                try:
                    reply = call(stack.proxy.port, method, path, body, key=key, timeout=FROZEN_WAIT)
                except TimeoutError:
                    pytest.fail(f"{method} {path} with key {key!r}: no answer in {FROZEN_WAIT}s, so the proxy "
                                "forwarded it to the frozen llama-server")
                refused.append((method, path, key, reply.status, json.loads(reply.body)["error"]["code"]))
    assert {(status, code) for *_, status, code in refused} == {(401, "invalid_api_key")}, refused
    # The control: an authenticated call right after the thaw starts exactly one task, so a refused
    # call queued in llama-server's socket would have shown up before or with it.
    ok_json(call(stack.proxy.port, "POST", "/v1/completions", completion_body(alias, max_tokens=1)))
    assert stack.llama.log_text().count(TASK_STARTED) == tasks_before + 1
    # nginx's own record agrees: no upstream response time ("-") on any refused request.
    lines = stack.proxy.read_access_log().splitlines()[access_before:]
    upstream_times = [re.search(r" (\S+) key=\S* reason=\S*$", line) for line in lines if '" 401 ' in line]
    assert [m.group(1) if m else line for m, line in zip(upstream_times, lines, strict=False)] == ["-"] * len(refused), lines


def test_a_call_the_proxy_forwards_to_the_frozen_server_hangs(stack: Stack) -> None:
    """The premise of the test above, checked: while llama-server is frozen, a forwarded call gets no answer."""
    with frozen(stack.llama.process), pytest.raises(TimeoutError):
        call(stack.proxy.port, "GET", "/v1/models", timeout=1.0)
