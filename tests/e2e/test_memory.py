"""The capacity planner against llama-server itself, shape by shape (matrix.SHAPES): every buffer it
allocates compared part by part with the budget for the CPU it runs on, and its peak resident memory
after the heaviest request the shape allows, under the budget's total and the memory limit."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from generator.capacity.budget import predict
from generator.capacity.platform import AMD64, CpuPlatform, from_system_info
from tests.e2e import matrix, memory
from tests.e2e.shaped import write_shaped

pytestmark = pytest.mark.e2e

MiB = memory.MiB
READY_SECONDS = 120.0
REQUEST_SECONDS = 600.0


@dataclass(frozen=True)
class Measured:
    """One shape after its heaviest requests: what it was, what llama-server allocated, its peak RSS."""

    rendered: matrix.Rendered
    allocated: memory.Allocated
    platform: CpuPlatform
    peak_rss: int | None  # None when the shape sends no heavy request
    heavy: str  # what was sent


def model_file(shape: matrix.Shape, gguf: Path, scratch: Path) -> Path:
    """The real 270M file, or the 1B-shaped one written beside it."""
    if shape.model == matrix.REAL:
        return gguf
    target = scratch / "model" / "gemma-3-1b-shaped.gguf"
    return target if target.exists() else write_shaped(gguf, "gemma3", matrix.GEMMA_1B.geometry, target)


def heaviest_requests(rendered: matrix.Rendered, port: int) -> str:
    """A full-ubatch embedding when embeddings are on, then a long prompt on every slot at once."""
    cells, alias = predict(rendered.geometry, rendered.settings).cells, str(rendered.values["model"]["alias"])
    sent = []
    if rendered.settings.embeddings:
        tokens = matrix.full_ubatch_embedding(port, alias, cells.n_ubatch, REQUEST_SECONDS)
        assert tokens >= 0.9 * cells.n_ubatch, tokens
        sent.append(f"a {tokens}-token embedding")
    length = matrix.long_prompt_tokens(rendered, cells.n_ctx_seq, cells.n_ubatch)
    prompts = matrix.long_prompt_on_every_slot(port, alias, rendered.settings.parallel, length, REQUEST_SECONDS)
    sent.append(f"{len(prompts)} x {max(prompts)}-token prompts at once")
    return ", ".join(sent)


Measure = Callable[[matrix.Shape], Measured]


@pytest.fixture(scope="module")
def measure(llama_binary: Path, gguf: Path, scratch: Path, tmp_path_factory: pytest.TempPathFactory) -> Measure:
    """Render a shape, start its llama-server, send its heaviest requests, read the log and the peak RSS;
    once per shape, however many tests ask."""
    done: dict[str, Measured] = {}

    def run(shape: matrix.Shape) -> Measured:
        if shape.name not in done:
            rendered = matrix.render(shape, tmp_path_factory.mktemp("shape"))
            home, log = scratch / f"home-{matrix.shape_id(shape)}", scratch / f"llama-{matrix.shape_id(shape)}.log"
            model = model_file(shape, gguf, scratch)
            with matrix.started(rendered, llama_binary, model, home, [], READY_SECONDS, log) as (server, outside):
                heavy = heaviest_requests(rendered, outside.port) if shape.heavy else "none (buffers only)"
                peak = server.peak_rss_bytes() if shape.heavy else None
                allocated = memory.parse_log(server.log_text())
            platform = from_system_info(AMD64, allocated.system_info, "x86 test build")
            done[shape.name] = Measured(rendered, allocated, platform, peak, heavy)
        return done[shape.name]

    return run


@pytest.fixture(params=matrix.SHAPES, ids=matrix.shape_id)
def measured(request: pytest.FixtureRequest, measure: Measure) -> Measured:
    """Every shape of the matrix."""
    return measure(request.param)


@pytest.fixture(params=[s for s in matrix.SHAPES if s.heavy], ids=matrix.shape_id)
def loaded(request: pytest.FixtureRequest, measure: Measure) -> Measured:
    """The shapes with real weights, after their heaviest requests."""
    return measure(request.param)


def labels(m: Measured) -> dict[str, str]:
    """What a results row says about where it was measured."""
    return {"arch": "x86_64", "cpu": m.platform.note, "shape": m.rendered.shape.name, "model": m.rendered.shape.model}


def test_every_buffer_matches_the_budget(measured: Measured) -> None:
    r = measured.rendered
    rows = memory.compare(measured.allocated, r.geometry, r.settings, measured.platform)
    memory.RESULTS.extend(memory.as_records(rows, **labels(measured)))
    assert not memory.failures(rows), f"{r.shape.name} on {measured.platform.note}:\n{memory.markdown(rows)}"


def test_peak_memory_stays_under_the_budget_and_the_limit(loaded: Measured) -> None:
    measured = loaded
    assert measured.peak_rss is not None
    r = measured.rendered
    total = predict(r.geometry, r.settings, measured.platform).total
    memory.RESULTS.append({**labels(measured), "part": f"peak RSS after {measured.heavy}", "predicted": total,
                           "allocated": measured.peak_rss, "rule": "bound", "ok": measured.peak_rss <= total <= r.limit})
    assert measured.peak_rss <= total <= r.limit, (f"{r.shape.name}: peak RSS {measured.peak_rss / MiB:.1f} MiB after "
                                                   f"{measured.heavy}, budget {total / MiB:.1f} MiB, limit {r.limit / MiB:.0f} MiB")


def test_checkpoints_stay_within_the_budgeted_count(loaded: Measured) -> None:
    """The long prompts make llama-server checkpoint every slot (a sliding-window model); never more
    per slot than --ctx-checkpoints, never in a slot the budget does not count."""
    checkpoints, s = loaded.allocated.checkpoints, loaded.rendered.settings
    assert {c.slot for c in checkpoints} == set(range(s.parallel)), checkpoints
    assert memory.checkpoint_problems(loaded.allocated, s) == []
