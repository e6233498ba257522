"""The capacity planner's budget, part by part, against what llama-server says it allocated.

llama-server prints every buffer at verbosity 4: the model buffers (`CPU_Mapped`, `CPU_REPACK`, `AMX`),
the two KV caches (full-attention and sliding-window layers), the compute buffer, the output buffer
at its startup size, and each context checkpoint as it is created. Each part has a rule:

- exact (repack, KV caches, output at startup, checkpoint size): the budget applies llama.cpp's own
  rule, so it must agree to the log's rounding (0.01 MiB, 0.001 MiB for checkpoints);
- estimate (weights + repack, compute): within 10 % above what llama.cpp allocated, never below.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from generator.capacity.budget import (
    LlamaSettings,
    checkpoint_size,
    kv_cache_split,
    output_startup_bytes,
    predict,
    repack_for,
)
from generator.capacity.catalog import Geometry
from generator.capacity.platform import CpuPlatform

MiB = 1024 * 1024
ESTIMATE_TOLERANCE = 0.10
LOG_ROUNDING = 0.005 * MiB + 1  # buffer sizes are printed in MiB with two decimals (+1: the parsed bytes are rounded)
CHECKPOINT_ROUNDING = 0.0005 * MiB + 1  # checkpoint sizes with three
EXACT, ESTIMATE = "exact", "estimate"
# Every comparison the matrix made, as plain records (as_records); conftest.py writes them as JSON where
# GEMMA_GITOPS_E2E_RESULTS says, and scripts/budget-table.py turns them into bench's budget table.
RESULTS: list[dict[str, Any]] = []

_SIZE = r"=\s*([0-9.]+) MiB"
MODEL_BUFFER = re.compile(r"load_tensors:\s+(\S+) model buffer size " + _SIZE)
COMPUTE = re.compile(r"CPU compute buffer size " + _SIZE)
OUTPUT = re.compile(r"CPU\s+output buffer size " + _SIZE)
CREATING_KV = re.compile(r"creating\s+(non-SWA|SWA) KV cache")
KV_SIZE = re.compile(r"llama_kv_cache: size " + _SIZE + r" \(\s*(\d+) cells,\s*(\d+) layers")
SYSTEM_INFO = re.compile(r"system_info: .*")
CHECKPOINT = re.compile(r"id\s+(\d+) \|.*created context checkpoint (\d+) of (\d+) \(.*n_tokens = (\d+), size = ([0-9.]+) MiB\)")
MAPPED, REPACK, AMX = "CPU_Mapped", "CPU_REPACK", "AMX"


@dataclass(frozen=True)
class KvLine:
    """One `llama_kv_cache: size = ...` line."""

    bytes: int
    cells: int
    layers: int


@dataclass(frozen=True)
class Checkpoint:
    """One `created context checkpoint N of M (..., size = X MiB)` line."""

    slot: int
    number: int
    limit: int
    n_tokens: int  # the slot's tokens when it was taken
    bytes: int


@dataclass(frozen=True)
class Allocated:
    """The buffers llama-server reports, in bytes (to its printed precision)."""

    model: dict[str, int]  # model buffer name (CPU_Mapped, CPU_REPACK, AMX) → bytes
    kv_full: KvLine
    kv_swa: KvLine | None
    compute: int
    output: int
    system_info: str
    checkpoints: tuple[Checkpoint, ...] = ()

    @property
    def repack(self) -> int:
        """The repacked copies: CPU_REPACK and AMX together."""
        return self.model.get(REPACK, 0) + self.model.get(AMX, 0)

    @property
    def weights(self) -> int:
        """Every model buffer: the mapped file and the repacked copies."""
        return sum(self.model.values())


def _mib(text: str) -> int:
    return round(float(text) * MiB)


def _required(pattern: re.Pattern[str], log: str) -> re.Match[str]:
    """The first match of a line llama-server must have printed; a missing one is named."""
    match = pattern.search(log)
    assert match, f"no `{pattern.pattern}` line in llama-server's log (is the verbosity 4?)"
    return match


def parse_kv(log: str) -> dict[str, KvLine]:
    """The KV cache lines by kind; a model without sliding-window layers has one cache and no `creating` line."""
    caches: dict[str, KvLine] = {}
    kind = "non-SWA"
    for line in log.splitlines():
        if created := CREATING_KV.search(line):
            kind = created[1]
        elif size := KV_SIZE.search(line):
            caches.setdefault(kind, KvLine(_mib(size[1]), int(size[2]), int(size[3])))
    assert "non-SWA" in caches, "no `llama_kv_cache: size = ...` line in llama-server's log"
    return caches


def parse_checkpoints(log: str) -> tuple[Checkpoint, ...]:
    """Every context checkpoint llama-server created, in order."""
    return tuple(Checkpoint(int(m[1]), int(m[2]), int(m[3]), int(m[4]), round(float(m[5]) * MiB)) for m in CHECKPOINT.finditer(log))


def parse_log(log: str) -> Allocated:
    """Every buffer in llama-server's log; a missing line is an error naming it."""
    model = {m[1]: _mib(m[2]) for m in MODEL_BUFFER.finditer(log)}
    assert MAPPED in model, f"no `{MODEL_BUFFER.pattern}` line for {MAPPED} in llama-server's log (is the verbosity 4?)"
    caches = parse_kv(log)
    return Allocated(model, caches["non-SWA"], caches.get("SWA"), _mib(_required(COMPUTE, log)[1]),
                     _mib(_required(OUTPUT, log)[1]), _required(SYSTEM_INFO, log)[0], parse_checkpoints(log))


@dataclass(frozen=True)
class Row:
    """One part: what the budget predicts, what llama-server allocated, and the rule between them."""

    part: str
    predicted: int
    allocated: int
    rule: str  # EXACT or ESTIMATE
    rounding: float = LOG_ROUNDING

    @property
    def deviation(self) -> float:
        """(predicted - allocated) / allocated: positive when the budget plans for more than is used."""
        return (self.predicted - self.allocated) / self.allocated if self.allocated else 0.0

    @property
    def ok(self) -> bool:
        """Exact: equal to the log's rounding. Estimate: never below, at most 10 % above."""
        if self.rule == EXACT:
            return abs(self.predicted - self.allocated) <= self.rounding
        return self.allocated - self.rounding <= self.predicted <= self.allocated * (1 + ESTIMATE_TOLERANCE) + self.rounding


def compare(allocated: Allocated, g: Geometry, s: LlamaSettings, platform: CpuPlatform) -> list[Row]:
    """Every part llama-server reports against the budget's, each with its rule."""
    budget = predict(g, s, platform)
    full, swa = kv_cache_split(g, s, budget.cells)
    repack = repack_for(g, platform)
    rows = [
        # the budget counts the whole file (header and vocabulary too); CPU_Mapped is its tensor data
        Row("weights + repack (file + copies)", budget.weights + budget.repack, allocated.weights, ESTIMATE),
        Row(f"repack ({REPACK} + {AMX})", repack.total, allocated.repack, EXACT),
        Row("kv cache, full-attention layers", full, allocated.kv_full.bytes, EXACT),
        Row("kv cache, sliding-window layers", swa, allocated.kv_swa.bytes if allocated.kv_swa else 0, EXACT),
        Row("compute buffer", budget.compute, allocated.compute, ESTIMATE),
        Row("output buffer at startup", output_startup_bytes(g, s), allocated.output, EXACT),
    ]
    # a checkpoint holds the slot's last slidingWindow cells: only one taken after that many tokens is full
    full_window = [c.bytes for c in allocated.checkpoints if c.n_tokens >= g.sliding_window]
    if full_window:
        rows.append(Row("context checkpoint (a full window)", checkpoint_size(g, s, budget.cells), max(full_window), EXACT,
                        CHECKPOINT_ROUNDING))
    return rows


def failures(rows: list[Row]) -> list[Row]:
    """The rows whose rule does not hold."""
    return [row for row in rows if not row.ok]


def checkpoint_problems(allocated: Allocated, s: LlamaSettings) -> list[str]:
    """Checkpoints must respect the per-slot count the budget multiplies by (--ctx-checkpoints, every slot)."""
    problems = [f"slot {c.slot}: checkpoint {c.number} of {c.limit}, budgeted {s.ctx_checkpoints} per slot"
                for c in allocated.checkpoints if c.limit != s.ctx_checkpoints or c.number > c.limit]
    slots = {c.slot for c in allocated.checkpoints}
    if slots - set(range(s.parallel)):
        problems.append(f"checkpoints in slots {sorted(slots)}, but only {s.parallel} slots are budgeted")
    return problems


def as_records(rows: list[Row], **labels: Any) -> list[dict[str, Any]]:
    """Rows as plain data for the results file, each with the run's labels (arch, shape, ...)."""
    return [{**labels, "part": r.part, "predicted": r.predicted, "allocated": r.allocated, "rule": r.rule, "ok": r.ok}
            for r in rows]


def markdown(rows: list[Row]) -> str:
    """The rows as a markdown table, MiB with two decimals."""
    lines = ["| part | budget (MiB) | llama-server (MiB) | deviation | rule |", "| --- | ---: | ---: | ---: | --- |"]
    lines += [f"| {r.part} | {r.predicted / MiB:.2f} | {r.allocated / MiB:.2f} | {r.deviation:+.1%} | {r.rule}"
              f"{'' if r.ok else ' FAILED'} |" for r in rows]
    return "\n".join(lines) + "\n"
