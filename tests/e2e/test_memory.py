"""The capacity planner against llama-server itself: the buffers it allocates at startup, and its peak
resident memory after the largest embedding request the settings allow."""

from __future__ import annotations

from typing import Any

import pytest

from generator.capacity.quantity import parse_bytes
from tests.e2e import memory
from tests.e2e.api import call, embeddings_body, ok_json
from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e

MiB = memory.MiB


def test_budget_matches_the_buffers_llama_server_allocates(stack: Stack, budget: dict[str, Any]) -> None:
    allocated = memory.parse_startup_log(stack.llama.log_text())
    kv, model, compute, total = memory.compare(allocated, budget)
    cells = budget["kvCells"]
    memory.REPORT.append(memory.markdown((kv, model, compute, total), [
        ("kv cells per stream (full / SWA)", f"{cells['fullPerStream']} / {cells['swaPerStream']}",
         f"{allocated.kv_full.cells} / {allocated.kv_swa.cells if allocated.kv_swa else 0}"),
        ("output buffer: budget peak vs startup size", f"{budget['budget']['outputs'] / MiB:.2f}",
         f"{allocated.output / MiB:.2f}"),
    ]))
    assert abs(kv.deviation) <= memory.KV_TOLERANCE, memory.REPORT[-1]
    assert abs(total.deviation) <= memory.TOTAL_TOLERANCE, memory.REPORT[-1]


def test_peak_memory_stays_within_the_budget_and_the_limit(stack: Stack, budget: dict[str, Any]) -> None:
    """An embedding of nearly a whole ubatch makes llama-server grow its output buffer to about what
    the budget plans for; its resident peak must stay under the budget's total and the memory limit."""
    n_ubatch = budget["kvCells"]["nUbatch"]
    text = " ".join(["wave"] * (n_ubatch - 16))  # one token a word, plus BOS: just under the ubatch
    data = ok_json(call(stack.proxy.port, "POST", "/v1/embeddings", embeddings_body(stack.values["model"]["alias"], [text])))
    assert data["usage"]["prompt_tokens"] >= 0.9 * n_ubatch, data["usage"]
    peak = stack.llama.peak_rss_bytes()
    limit = parse_bytes(stack.values["llama"]["resources"]["limits"]["memory"])
    memory.REPORT.append(f"peak RSS after a {data['usage']['prompt_tokens']}-token embedding: {peak / MiB:.1f} MiB "
                         f"(budget total {budget['budget']['total'] / MiB:.1f} MiB, limit {limit / MiB:.0f} MiB)\n")
    assert peak <= budget["budget"]["total"] <= limit, memory.REPORT[-1]
