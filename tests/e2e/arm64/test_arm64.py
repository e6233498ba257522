"""The pinned llama-server as the Ampere A1 nodes run it: cross-built for aarch64 with the official
image's Neoverse N1 instruction set, under QEMU as a Neoverse N1, with every matrix shape's rendered
flags on Gemma 3 270M. It must start, answer /health, a chat completion and an embedding, and
allocate exactly what the budget plans for an arm64 node, repacked weights included.

`make e2e-arm64` runs these (minutes under emulation); see tests/e2e/arm64/conftest.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from generator.capacity.budget import predict
from generator.capacity.platform import ARM64, CpuPlatform, from_system_info, preset
from testkit.proxy_client import request
from tests.e2e import matrix, memory
from tests.e2e.shaped import write_shaped

pytestmark = pytest.mark.e2e

READY_SECONDS = 900.0  # loading and repacking under emulation: about 12 s for the 270M, a minute for the 1B
REQUEST_SECONDS = 1200.0
TARGET = preset("ampere-a1")
# What each shape is asked under emulation: the reference serves both APIs; one shape sends a prompt
# longer than the sliding window, so llama-server takes a full-window context checkpoint.
ASKED = {"reference": ("health", "chat", "embedding"), "embeddings off": ("long prompt",)}


@dataclass
class Emulated:
    """One shape under QEMU: its rendering, llama-server's buffers, and the answers it gave."""

    rendered: matrix.Rendered
    allocated: memory.Allocated
    reported: CpuPlatform  # what the running ggml-cpu says it was compiled with
    answers: dict[str, Any] = field(default_factory=dict)


def ask(what: str, rendered: matrix.Rendered, port: int) -> Any:
    """One request of ASKED, returning what the test checks."""
    alias = str(rendered.values["model"]["alias"])
    if what == "health":
        reply = request(port, "GET", "/health", timeout=60)
        return (reply.status, json.loads(reply.body))
    if what == "chat":
        body = {"model": alias, "max_tokens": 8, "temperature": 0,
                "messages": [{"role": "user", "content": "Write one sentence about the sea."}]}
        reply = matrix.post(port, "/v1/chat/completions", body, REQUEST_SECONDS)
        return (reply.status, json.loads(reply.body))
    if what == "embedding":
        reply = matrix.post(port, "/v1/embeddings", {"model": alias, "input": ["The sea is calm."]}, REQUEST_SECONDS)
        return (reply.status, json.loads(reply.body))
    cells = predict(rendered.geometry, rendered.settings).cells
    tokens = rendered.geometry.sliding_window + cells.n_ubatch // 4
    return matrix.long_prompt_on_every_slot(port, alias, rendered.settings.parallel, tokens, REQUEST_SECONDS)


Measure = Callable[[matrix.Shape], Emulated]


@pytest.fixture(scope="module")
def emulate(arm64_binary: Path, arm64_gguf: Path, qemu_prefix: list[str], scratch: Path,
            tmp_path_factory: pytest.TempPathFactory) -> Measure:
    """Render a shape, start the ARM64 llama-server under QEMU, ask it what ASKED says; once per shape."""
    done: dict[str, Emulated] = {}

    def run(shape: matrix.Shape) -> Emulated:
        if shape.name not in done:
            rendered = matrix.render(shape, tmp_path_factory.mktemp("arm64-shape"))
            model = arm64_gguf
            if shape.model == matrix.SHAPED_1B:
                model = write_shaped(arm64_gguf, "gemma3", matrix.GEMMA_1B.geometry, scratch / "model" / "gemma-3-1b-shaped.gguf")
            home, log = scratch / f"arm64-home-{matrix.shape_id(shape)}", scratch / f"arm64-{matrix.shape_id(shape)}.log"
            with matrix.started(rendered, arm64_binary, model, home, qemu_prefix, READY_SECONDS, log) as (server, outside):
                answers = {what: ask(what, rendered, outside.port) for what in ASKED.get(shape.name, ())}
                allocated = memory.parse_log(server.log_text())
            # no peak RSS here: QEMU's resident memory is the guest's plus the emulator's translation
            # cache, so it bounds nothing; tests/e2e/test_memory.py checks the peak natively
            done[shape.name] = Emulated(rendered, allocated, from_system_info(ARM64, allocated.system_info), answers)
        return done[shape.name]

    return run


@pytest.fixture(params=matrix.SHAPES, ids=matrix.shape_id)
def emulated(request: pytest.FixtureRequest, emulate: Measure) -> Emulated:
    """Every shape of the matrix, under QEMU."""
    return emulate(request.param)


@pytest.fixture
def reference(emulate: Measure) -> Emulated:
    """The e2e environment as rendered, under QEMU."""
    return emulate(matrix.SHAPES[0])


def test_the_emulated_build_runs_as_ampere_a1(reference: Emulated) -> None:
    """The cross build under QEMU's neoverse-n1 reports the N1's features: dotprod, no i8mm, no SVE."""
    assert reference.reported.features == TARGET.features, reference.allocated.system_info


def test_it_serves_health_chat_and_embeddings(reference: Emulated) -> None:
    assert reference.answers["health"] == (200, {"status": "ok"})
    status, chat = reference.answers["chat"]
    assert status == 200 and chat["choices"][0]["message"]["content"].strip(), chat
    assert chat["usage"]["completion_tokens"] > 0
    status, embedded = reference.answers["embedding"]
    assert status == 200 and [len(item["embedding"]) for item in embedded["data"]] == [reference.rendered.geometry.n_embd]


def test_every_buffer_matches_the_budget_for_an_arm64_node(emulated: Emulated) -> None:
    r = emulated.rendered
    rows = memory.compare(emulated.allocated, r.geometry, r.settings, TARGET)
    labels = {"arch": "arm64 (QEMU neoverse-n1)", "cpu": emulated.reported.note, "shape": r.shape.name, "model": r.shape.model}
    memory.RESULTS.extend(memory.as_records(rows, **labels))
    assert not memory.failures(rows), f"{r.shape.name} under QEMU:\n{memory.markdown(rows)}"


def test_a_full_window_checkpoint_is_sized_as_budgeted(emulate: Measure) -> None:
    """A prompt longer than the sliding window: its checkpoint holds the window and is what the budget says."""
    long = emulate(next(s for s in matrix.SHAPES if s.name == "embeddings off"))
    rows = {row.part: row for row in memory.compare(long.allocated, long.rendered.geometry, long.rendered.settings, TARGET)}
    assert rows["context checkpoint (a full window)"].ok
