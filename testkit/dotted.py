"""Dotted value paths, as tests and benchmarks write changes to an environment's values."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def nested(changes: Mapping[str, Any]) -> dict[str, Any]:
    """`{"llama.contextSize": 2048}` → `{"llama": {"contextSize": 2048}}`."""
    out: dict[str, Any] = {}
    for path, value in changes.items():
        *parents, last = path.split(".")
        node = out
        for key in parents:
            node = node.setdefault(key, {})
        node[last] = value
    return out
