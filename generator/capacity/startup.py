"""The startupProbe window: long enough for a first start that downloads the model, then loads it."""

from __future__ import annotations

import math
from dataclasses import dataclass

from .quantity import MiB

# The window is the expected time times this factor: a slow node, a throttled CPU or a congested
# registry must not turn a first start into a restart loop that downloads the model again.
SAFETY_FACTOR = 1.5
# Never fewer probes than this, so one slow answer near the end cannot fail a start.
MIN_FAILURE_THRESHOLD = 3


@dataclass(frozen=True)
class StartupWindow:
    """A startupProbe's timing and the reasoning behind it."""

    period_seconds: int
    failure_threshold: int
    download_seconds: float
    load_seconds: float

    @property
    def window_seconds(self) -> int:
        """How long Kubernetes waits before it restarts a container that has not started."""
        return self.period_seconds * self.failure_threshold


def download_seconds(file_size_bytes: int, min_download_mibps: float) -> float:
    """Seconds to fetch the model at the slowest bandwidth we plan for."""
    if min_download_mibps <= 0:
        raise ValueError("the minimum download bandwidth must be positive")
    return file_size_bytes / (min_download_mibps * MiB)


def startup_window(file_size_bytes: int, min_download_mibps: float, load_seconds: float,
                   period_seconds: int, safety_factor: float = SAFETY_FACTOR) -> StartupWindow:
    """failureThreshold = ceil(safety_factor * (download + load) / period), at least MIN_FAILURE_THRESHOLD."""
    if period_seconds <= 0:
        raise ValueError("the probe period must be positive")
    fetch = download_seconds(file_size_bytes, min_download_mibps)
    threshold = math.ceil(safety_factor * (fetch + load_seconds) / period_seconds)
    return StartupWindow(period_seconds, max(MIN_FAILURE_THRESHOLD, threshold), fetch, load_seconds)
