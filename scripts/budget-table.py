#!/usr/bin/env python3
"""Write the budget-vs-llama.cpp table of bench/ from what the memory matrix measured.

`make e2e` writes build/e2e-memory.json (x86, the native test build) and `make e2e-arm64` writes
build/e2e-arm64-memory.json (the aarch64 build under QEMU as a Neoverse N1): one record per shape and
part, with the budget's bytes and llama-server's. This script puts them side by side as one markdown
table and replaces the part of bench/e2e-build.md and bench/results.md between the markers below,
so every number in that table comes from a run of the matrix.

Usage: python scripts/budget-table.py build/e2e-memory.json [build/e2e-arm64-memory.json]   (`make budget-table`)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TARGETS = (ROOT / "bench" / "e2e-build.md", ROOT / "bench" / "results.md")
BEGIN, END = "<!-- budget-matrix:begin (scripts/budget-table.py) -->", "<!-- budget-matrix:end -->"
MiB = 1024 * 1024
RULES = {"exact": "exact (to the log's rounding)", "estimate": "estimate: +0-10 %, never below",
         "bound": "peak RSS <= budget total <= limit", "info": "not compared"}


def load(paths: list[Path]) -> list[dict[str, Any]]:
    """Every record of the results files, in their order; a missing file is an error naming the target."""
    records: list[dict[str, Any]] = []
    for path in paths:
        if not path.is_file():
            raise SystemExit(f"budget-table: {path} is missing; run `make e2e` (x86) and `make e2e-arm64` first")
        records += json.loads(path.read_text(encoding="utf-8"))
    return records


def cell(record: dict[str, Any] | None) -> list[str]:
    """Budget MiB, llama.cpp MiB and deviation of one record, or three blanks."""
    if record is None:
        return ["", "", ""]
    predicted, allocated = record["predicted"], record["allocated"]
    deviation = f"{(predicted - allocated) / allocated:+.1%}" if allocated else ""
    mark = "" if record["ok"] else " FAILED"
    return [f"{predicted / MiB:.2f}", f"{allocated / MiB:.2f}", deviation + mark]


def table(records: list[dict[str, Any]]) -> list[str]:
    """One row per (shape, part), one column group per architecture, in the order they were measured."""
    arches = list(dict.fromkeys(r["arch"] for r in records))
    keys = list(dict.fromkeys((r["shape"], r["part"]) for r in records))
    by_key = {(r["arch"], r["shape"], r["part"]): r for r in records}
    head = "| shape | part | " + " | ".join(f"{a} budget | {a} llama.cpp | dev." for a in arches) + " | rule |"
    lines = [head, "| --- | --- | " + " | ".join("---: | ---: | ---:" for _ in arches) + " | --- |"]
    for shape, part in keys:
        found = [by_key.get((arch, shape, part)) for arch in arches]
        rule = next(r["rule"] for r in found if r is not None)
        lines.append(f"| {shape} | {part} | " + " | ".join(" | ".join(cell(r)) for r in found) + f" | {RULES[rule]} |")
    return lines


def section(records: list[dict[str, Any]]) -> str:
    """The generated block: where it was measured, the table, and the verdict."""
    cpus = dict.fromkeys(f"{r['arch']}: {r['cpu']}" for r in records)
    failed = sum(1 for r in records if not r["ok"])
    lines = [BEGIN, "", "MiB; budget = `generator.capacity.budget.predict` for the CPU llama-server ran on; llama.cpp = what",
             "b11434 logged (`-lv 4`) or, for peak RSS, VmHWM after the shape's heaviest request. Measured on:", ""]
    lines += [f"- {cpu}" for cpu in cpus]
    lines += ["", *table(records), "", f"{len(records)} comparisons, {failed} outside their rule.", "", END]
    return "\n".join(lines)


def replace_between(text: str, block: str, path: Path) -> str:
    """`text` with the region between the markers replaced by `block`."""
    if BEGIN not in text or END not in text:
        raise SystemExit(f"budget-table: {path} has no `{BEGIN}` ... `{END}` markers")
    head, rest = text.split(BEGIN, 1)
    return head + block + rest.split(END, 1)[1]


def main(argv: list[str]) -> int:
    """Rewrite the table in each target file; print what changed."""
    if not argv:
        raise SystemExit(__doc__)
    block = section(load([Path(a) for a in argv]))
    for path in TARGETS:
        text = path.read_text(encoding="utf-8")
        new = replace_between(text, block, path)
        if new != text:
            path.write_text(new, encoding="utf-8")
            print(f"budget-table: rewrote the budget table in {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
