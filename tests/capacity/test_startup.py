"""The startupProbe window."""

from __future__ import annotations

import pytest

from generator.capacity.quantity import MiB
from generator.capacity.startup import download_seconds, startup_window


@pytest.mark.parametrize(("size", "mibps", "load", "period", "threshold"), [
    (806_500_000, 2, 60, 10, 67),  # the reference: 385 s download + 60 s load, x 1.5, / 10 s
    (253_113_024, 2, 60, 10, 28),  # Gemma 3 270M
    (806_500_000, 50, 30, 10, 7),
    (1 * MiB, 100, 0, 10, 3),  # never below the minimum threshold
    (600 * MiB, 10, 0, 5, 18),  # exactly 60 s download x 1.5 / 5
])
def test_failure_threshold(size: int, mibps: float, load: float, period: int, threshold: int) -> None:
    window = startup_window(size, mibps, load, period)
    assert window.failure_threshold == threshold
    assert window.window_seconds == period * threshold
    assert window.window_seconds >= window.download_seconds + window.load_seconds


def test_the_margin_is_configurable() -> None:
    assert startup_window(600 * MiB, 10, 0, 5, safety_factor=1.0).failure_threshold == 12


def test_download_seconds() -> None:
    assert download_seconds(300 * MiB, 2) == 150


@pytest.mark.parametrize(("mibps", "period"), [(0, 10), (-1, 10), (2, 0)])
def test_nonsense_is_refused(mibps: float, period: int) -> None:
    with pytest.raises(ValueError, match="must be positive"):
        startup_window(MiB, mibps, 10, period)
