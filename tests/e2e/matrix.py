"""The memory matrix: shapes of the e2e environment, each rendered, started as rendered, loaded with its
heaviest request, and measured (tests/e2e/test_memory.py on x86, tests/e2e/arm64 under QEMU)."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generator.capacity.budget import LlamaSettings
from generator.capacity.catalog import CATALOG, Geometry, lookup
from generator.capacity.quantity import parse_bytes
from generator.plan import llama_settings
from testkit.llama import CONTAINER, LlamaServer, Outside, command, prepare_home, running, wait_healthy
from testkit.nginx import free_port
from testkit.proxy_client import Reply, request
from tests.e2e import environment

GEMMA_1B = CATALOG[0]
REAL, SHAPED_1B = "gemma-3-270m", "gemma-3-1b-shaped"
PROMPT_MARGIN = 64  # tokens a long prompt leaves free in its slot (chat template, generated tokens)


@dataclass(frozen=True)
class Shape:
    """One row of the matrix: changes to the e2e values, and the model file it runs."""

    name: str
    llama: Mapping[str, Any] = field(default_factory=dict)
    model: str = REAL
    heavy: bool = True  # send the heaviest requests and read the peak RSS (real weights only)


SHAPES: tuple[Shape, ...] = (
    Shape("reference"),  # tests/e2e/values/e2e.yaml: -c 4096 -np 1 -b 512 -ub 512, f16 cache, embeddings on
    Shape("ctx 8192, np 4", {"contextSize": 8192, "parallel": 4}),
    Shape("ubatch 128", {"ubatchSize": 128}),
    Shape("q8_0 cache", {"cacheTypeK": "q8_0", "cacheTypeV": "q8_0"}),
    Shape("embeddings off", {"embeddings": False}),
    Shape("embeddings off, np 4", {"embeddings": False, "parallel": 4}),
    # The reference deployment's model: Gemma 3 1B's exact tensor layout with zero weights (shaped.py),
    # with prod's memory limit; buffers only (its weights are zeros, so its RSS would say nothing).
    Shape("gemma 3 1b layout", {"resources": {"limits": {"memory": "4Gi"}}}, model=SHAPED_1B, heavy=False),
)


def shape_id(shape: Shape) -> str:
    """A pytest id: `ctx-8192-np-4`."""
    return "-".join(shape.name.replace(",", "").split())


def values_of(shape: Shape) -> dict[str, Any]:
    """tests/e2e/values/e2e.yaml with the shape's changes merged in (maps key by key)."""
    values = environment.raw_values()
    merge(values.setdefault("llama", {}), shape.llama)
    if shape.model == SHAPED_1B:
        values["model"] = {"hfRepo": GEMMA_1B.hf_repo, "hfFile": GEMMA_1B.hf_file, "alias": SHAPED_1B}
    return values


def merge(base: dict[str, Any], changes: Mapping[str, Any]) -> None:
    """Merge `changes` into `base` in place, maps key by key."""
    for key, value in changes.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            merge(base[key], value)
        else:
            base[key] = copy.deepcopy(value)


@dataclass(frozen=True)
class Rendered:
    """A shape as the spine renders it: its merged values, llama-server container, geometry and settings."""

    shape: Shape
    values: dict[str, Any]
    container: dict[str, Any]
    geometry: Geometry
    settings: LlamaSettings

    @property
    def limit(self) -> int:
        """The container's memory limit in bytes."""
        return parse_bytes(self.values["llama"]["resources"]["limits"]["memory"])


def render(shape: Shape, root: Path) -> Rendered:
    """Render the shape's environment in a scratch project (the capacity guards run, as in `make render`)."""
    settings = environment.scratch_project(root, values_of(shape))
    merged = environment.merged_values(settings)
    container = environment.container(environment.workload(environment.render(settings)), CONTAINER)
    entry = lookup(merged["model"]["hfRepo"], merged["model"]["hfFile"])
    assert entry is not None, f"{shape.name}: the model is not in the catalog"
    return Rendered(shape, merged, container, entry.geometry, llama_settings(environment.plan_of(settings).spec))


@contextmanager
def started(rendered: Rendered, binary: Path, model: Path, home: Path, prefix: list[str], ready_seconds: float,
            log: Path) -> Iterator[tuple[LlamaServer, Outside]]:
    """llama-server with the shape's rendered args (SUBSTITUTIONS applied), `prefix` before it (QEMU), ready."""
    outside = Outside(model=model, port=free_port(), home=home)
    prepare_home(outside)
    argv, env = command(rendered.container, binary, outside)
    with running([*prefix, *argv], env, log, cwd=home) as server:
        wait_healthy(server, outside.port, ready_seconds)
        yield server, outside


def post(port: int, path: str, body: dict[str, Any], timeout: float) -> Reply:
    """A JSON POST straight to llama-server (the proxy is not part of the memory matrix)."""
    return request(port, "POST", path, [("Content-Type", "application/json")], json.dumps(body).encode(), timeout)


def words(count: int, word: str) -> str:
    """`count` copies of one word: one token each for Gemma's tokenizer, so the prompt's length is known."""
    return " ".join([word] * count)


def full_ubatch_embedding(port: int, alias: str, n_ubatch: int, timeout: float) -> int:
    """An embedding of nearly a whole ubatch, the largest input --embeddings accepts; its prompt tokens."""
    reply = post(port, "/v1/embeddings", {"model": alias, "input": [words(n_ubatch - 8, "wave")]}, timeout)
    assert reply.status == 200, f"{reply.status}: {reply.body[:300]!r}"
    return int(json.loads(reply.body)["usage"]["prompt_tokens"])


def long_prompt_on_every_slot(port: int, alias: str, parallel: int, tokens: int, timeout: float) -> list[int]:
    """One long chat prompt per slot, all at once; each slot's prompt tokens (each prompt differs, so
    no slot reuses another's cache)."""
    bodies = [{"model": alias, "max_tokens": 4, "temperature": 0,
               "messages": [{"role": "user", "content": f"{slot}: {words(tokens, 'tide')}"}]} for slot in range(parallel)]
    with ThreadPoolExecutor(max_workers=parallel) as pool:
        replies = list(pool.map(lambda body: post(port, "/v1/chat/completions", body, timeout), bodies))
    assert [r.status for r in replies] == [200] * parallel, [r.body[:200] for r in replies if r.status != 200]
    return [int(json.loads(r.body)["usage"]["prompt_tokens"]) for r in replies]


def long_prompt_tokens(rendered: Rendered, n_ctx_seq: int, n_ubatch: int) -> int:
    """A prompt long enough for llama-server's checkpoints (4 + ubatch before its end, and 4 before it),
    and at least the sliding window, within the slot's context."""
    window = rendered.geometry.sliding_window
    return min(n_ctx_seq - PROMPT_MARGIN, max(2 * n_ubatch, window + n_ubatch) + PROMPT_MARGIN)
