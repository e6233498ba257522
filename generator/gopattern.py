"""Go regular expressions, as CRD schemas write them, made Python ones (standard library only:
scripts/update-crd-schemas.py checks the vendored schemas with the same rule `validate` applies)."""

from __future__ import annotations

import re

# A Go (RE2) flag group such as `(?i)` applies from where it stands to the end of the pattern; Python
# accepts one only at the very start. CRD patterns are Go's (the API server compiles them with
# regexp), e.g. Prometheus Operator's `^(?i)(abort|warn)?$`: rewritten `^(?i:(abort|warn)?$)`, which
# means the same in Python. Only top-level flag groups are rewritten; anything else stays as written.
_GO_FLAGS = re.compile(r"\(\?([imsU]+)\)")


def python_pattern(pattern: str) -> str:
    """A Go regular expression with top-level `(?flags)` groups as Python's scoped `(?flags:...)`."""
    match = _GO_FLAGS.search(pattern)
    if match is None or match.start() == 0 or "U" in match.group(1) or _depth(pattern, match.start()) != 0:
        return pattern
    rest = python_pattern(pattern[match.end():])
    return f"{pattern[:match.start()]}(?{match.group(1)}:{rest})"


def _depth(pattern: str, end: int) -> int:
    """How many groups are open at `end` (escaped parentheses and character classes left aside)."""
    depth, escaped, in_class = 0, False, False
    for char in pattern[:end]:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char in "()":
            depth += 1 if char == "(" else -1
    return depth
