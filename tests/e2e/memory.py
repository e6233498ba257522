"""The capacity planner's budget against what llama-server says it allocated (its startup log at verbosity 4)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

MiB = 1024 * 1024
KV_TOLERANCE = 0.01
# The comparison as markdown lines, for the terminal summary and the results file (tests/e2e/conftest.py).
REPORT: list[str] = []
TOTAL_TOLERANCE = 0.10

_SIZE = r"=\s*([0-9.]+) MiB"
BUFFERS = {
    "model_mapped": re.compile(r"CPU_Mapped model buffer size " + _SIZE),
    "model_repack": re.compile(r"CPU_REPACK model buffer size " + _SIZE),
    "compute": re.compile(r"CPU compute buffer size " + _SIZE),
    "output": re.compile(r"CPU\s+output buffer size " + _SIZE),
}
OPTIONAL = frozenset({"model_repack"})  # repacked weights exist only where the CPU has kernels for them
CREATING_KV = re.compile(r"creating\s+(non-SWA|SWA) KV cache")
KV_SIZE = re.compile(r"llama_kv_cache: size " + _SIZE + r" \(\s*(\d+) cells,\s*(\d+) layers")


@dataclass(frozen=True)
class KvLine:
    """One `llama_kv_cache: size = ...` line."""

    bytes: int
    cells: int
    layers: int


@dataclass(frozen=True)
class Allocated:
    """The buffers llama-server reports at startup, in bytes (to its 0.01 MiB)."""

    model_mapped: int
    model_repack: int
    kv_full: KvLine
    kv_swa: KvLine | None
    compute: int
    output: int

    @property
    def kv(self) -> int:
        return self.kv_full.bytes + (self.kv_swa.bytes if self.kv_swa else 0)

    @property
    def model(self) -> int:
        return self.model_mapped + self.model_repack


def _mib(text: str) -> int:
    return round(float(text) * MiB)


def parse_startup_log(log: str) -> Allocated:
    """The buffer sizes of llama-server's startup log; a missing line is an error naming it."""
    sizes = {}
    for name, pattern in BUFFERS.items():
        match = pattern.search(log)
        assert match or name in OPTIONAL, f"no `{pattern.pattern}` line in llama-server's log (is the verbosity 4?)"
        sizes[name] = _mib(match[1]) if match else 0
    caches: dict[str, KvLine] = {}
    kind = "non-SWA"  # a model without sliding-window layers has one cache and no `creating` line
    for line in log.splitlines():
        if created := CREATING_KV.search(line):
            kind = created[1]
        elif size := KV_SIZE.search(line):
            caches.setdefault(kind, KvLine(_mib(size[1]), int(size[2]), int(size[3])))
    assert "non-SWA" in caches, "no `llama_kv_cache: size = ...` line in llama-server's log"
    return Allocated(sizes["model_mapped"], sizes["model_repack"], caches["non-SWA"], caches.get("SWA"),
                     sizes["compute"], sizes["output"])


@dataclass(frozen=True)
class Row:
    """One part: what the budget predicts and what llama-server allocated."""

    part: str
    predicted: int
    allocated: int
    note: str

    @property
    def deviation(self) -> float:
        """(predicted - allocated) / allocated: positive when the budget plans for more than is used."""
        return (self.predicted - self.allocated) / self.allocated


def compare(allocated: Allocated, budget: dict[str, Any]) -> tuple[Row, Row, Row, Row]:
    """(kv cache, model, compute, total): each part llama-server prints at startup against the budget's.

    The total is the sum of those three pairs, i.e. of every buffer llama-server allocates at startup
    except the output buffer: it prints that one at its startup size (n_seq_max rows of logits) and
    grows it on demand to what the budget plans for (a whole ubatch of rows with embeddings), printing
    nothing then (the message is compiled out of release builds), so the peak-RSS test covers it.
    The budget's prompt cache, checkpoints and overhead are not llama.cpp buffers and are not compared.
    """
    budgeted = budget["budget"]
    kv = Row("kv cache (non-SWA + SWA)", budgeted["kvCache"], allocated.kv, "exact rule: cells x layers x K+V row")
    # The weights are budgeted as the GGUF file, mmapped whole; llama.cpp's CPU_Mapped counts only the
    # tensor data (not the header and vocabulary) and CPU_REPACK is a copy of some weights in a faster layout.
    model = Row("model: file size vs CPU_Mapped + CPU_REPACK", budgeted["weights"], allocated.model, "")
    compute = Row("compute buffer", budgeted["compute"], allocated.compute, "estimate, calibrated to be >= actual")
    total = Row("total of the three", kv.predicted + model.predicted + compute.predicted,
                kv.allocated + model.allocated + compute.allocated, f"must be within {TOTAL_TOLERANCE:.0%}")
    return kv, model, compute, total


def markdown(rows: tuple[Row, ...], extra: list[tuple[str, str, str]]) -> str:
    """The comparison as a markdown table, MiB with two decimals; `extra` rows are (part, predicted, actual)."""
    lines = ["| part | budget (MiB) | llama-server (MiB) | deviation | note |", "| --- | ---: | ---: | ---: | --- |"]
    for row in rows:
        lines.append(f"| {row.part} | {row.predicted / MiB:.2f} | {row.allocated / MiB:.2f} | "
                     f"{row.deviation:+.1%} | {row.note} |")
    lines += [f"| {part} | {predicted} | {actual} | | |" for part, predicted, actual in extra]
    return "\n".join(lines) + "\n"
