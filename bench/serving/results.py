"""The serving benchmark's own section of bench/results.md: rewritten by it, carried over by `python -m bench`."""

from __future__ import annotations

BEGIN = "<!-- serving: begin (written by `make bench-serving`; `make bench` keeps it) -->"
END = "<!-- serving: end -->"


def section_of(document: str) -> str | None:
    """The serving section of a results file, markers included, or None."""
    start, end = document.find(BEGIN), document.find(END)
    if start < 0 or end < start:
        return None
    return document[start:end + len(END)]


def with_section(document: str, block: str | None) -> str:
    """`document` with its serving section replaced by `block` (appended when it has none); one trailing newline."""
    if block is None:
        return document
    old = section_of(document)
    if old is not None:
        return document.replace(old, block)
    return document.rstrip("\n") + "\n\n" + block + "\n"
