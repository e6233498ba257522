"""Other work on the machine during a series: the load average, and the CPU that processes not ours used."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.machine import load_average

TICK = os.sysconf("SC_CLK_TCK")


def busy_seconds() -> float:
    """CPU seconds all CPUs have spent busy since boot on work not niced (/proc/stat: everything but nice,
    idle and iowait; proc(5): "nice: time spent in user mode with low priority")."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (sum(fields) - fields[1] - fields[3] - fields[4]) / TICK


def process_seconds(pid: int) -> float:
    """User + system CPU seconds of a process and its threads so far (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


@dataclass(frozen=True)
class Watched:
    """What else ran during a series."""

    load_before: str
    load_after: str
    seconds: float
    others_cores: float  # CPU used by processes other than ours, in cores, averaged over the series

    @property
    def quiet(self) -> bool:
        """Others used under QUIET_CORES on average."""
        return self.others_cores < QUIET_CORES


# This machine is shared with steady, niced background work (tests, mutation testing) that never
# stops for long; the measured processes outweigh it (bench/serving/quota.py V1_SHARES), so it only
# fills the CPU they leave idle. Niced user time is left out of "others" (busy_seconds); a run is
# repeated when others took half a core or more (niced work's system time still counts); each table
# reports the worst share.
QUIET_CORES = 0.5


def wait_for_quiet(progress: Callable[[str], None], most_seconds: float = 10.0, sample: float = 2.0) -> float:
    """Wait, at most `most_seconds`, until the CPUs were busy less than QUIET_CORES over a `sample`; the last sample."""
    deadline, said = time.monotonic() + most_seconds, False
    while True:
        before = busy_seconds()
        time.sleep(sample)
        cores = (busy_seconds() - before) / sample
        if cores < QUIET_CORES or time.monotonic() > deadline:
            return cores
        if not said:
            progress(f"waiting for other work to end ({cores:.2f} cores busy, load {load_average()})")
            said = True


class Watch:
    """Start a watch before a series, `stop` it after: busy CPU minus our own processes' CPU."""

    def __init__(self, ours: Callable[[], list[int]]) -> None:
        self.ours = ours  # the processes the benchmark runs, asked at the start and at the end
        self.load_before = load_average()
        self.started = time.monotonic()
        self.busy = busy_seconds()
        self.own = self._own_seconds(self.ours())

    @staticmethod
    def _own_seconds(pids: list[int]) -> dict[int, float]:
        return {pid: process_seconds(pid) for pid in {os.getpid(), *pids}}

    def stop(self) -> Watched:
        """The series' share of other work; processes that started during it count from zero."""
        seconds = time.monotonic() - self.started
        now = self._own_seconds(self.ours())
        ours = sum(value - self.own.get(pid, 0.0) for pid, value in now.items())
        others = max(0.0, busy_seconds() - self.busy - ours)
        return Watched(self.load_before, load_average(), seconds, others / seconds if seconds > 0 else 0.0)
