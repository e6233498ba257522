"""Medians and spreads of repeated measurements."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Summary:
    """The median of several runs and their range."""

    median: float
    low: float
    high: float
    runs: int

    def show(self, fmt: str = "{:.2f}") -> str:
        """`1.23 (1.20–1.31)`; a single run shows no range."""
        text = fmt.format(self.median)
        if self.runs > 1:
            text += f" ({fmt.format(self.low)}–{fmt.format(self.high)})"
        return text


def summarize(samples: Sequence[float]) -> Summary:
    """Median, min and max of at least one sample."""
    if not samples:
        raise ValueError("no samples to summarize")
    return Summary(statistics.median(samples), min(samples), max(samples), len(samples))


def percentile(samples: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile (`fraction` 0.9 is p90) of at least one sample."""
    ordered = sorted(samples)
    rank = max(1, min(len(ordered), round(fraction * len(ordered) + 0.5)))
    return ordered[rank - 1]
