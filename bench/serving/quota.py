"""A CPU limit applied as the kernel applies a pod's: a CFS bandwidth quota on a child cgroup, else `taskset`.

The kubelet turns `resources.limits.cpu` into a CFS quota on the container's cgroup: `cpu.max`
"<quota> <period>" on cgroup v2, `cpu.cfs_quota_us` / `cpu.cfs_period_us` on v1, with the quota
= limit x period and a period of 100 ms (kubernetes pkg/kubelet/cm/helpers_linux.go MilliCPUToQuota,
QuotaPeriod = 100000 us). Here, as root, the same files are written on a child cgroup this module
creates and removes; each process is moved in right after it starts, long before the first measured
request (llama-server takes about a second to load). Without a writable cpu controller the fallback is `taskset` to ceil(limit)
cores: the same whole cores, but no quota, so a fractional limit runs at the next whole core and
bursts inside a period are not throttled (the results say which method ran).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
V1_CPU = CGROUP_ROOT / "cpu"
PERIOD_US = 100_000  # the kubelet's CFS period
REMOVE_SECONDS = 5.0
# The quota is the kubelet's; the weight is not. On a node the container's shares only matter when
# the node is oversubscribed; on this shared machine other (niced) work runs beside the benchmark,
# so the measured processes get 10x a nice-0 task's weight (v1 cpu.shares 1024 = nice 0; v2
# cpu.weight 100 = nice 0): a nice-10 task then takes about 1 % of a contended core from them,
# not 10 % (kernel/sched/core.c sched_prio_to_weight: nice 0 = 1024, nice 10 = 110, nice 19 = 15).
V1_SHARES = 10_240
V2_WEIGHT = 1_000


@dataclass(frozen=True)
class Quota:
    """A CPU limit in force: how (cgroup v1, v2 or taskset), for how many cores, and where."""

    method: str  # "cgroup v1 cpu.cfs_quota_us", "cgroup v2 cpu.max" or "taskset"
    cores: float
    path: Path | None  # the child cgroup; None for taskset

    def join(self, pids: list[int]) -> None:
        """Move running processes, every thread of each, under the limit (as root)."""
        for pid in pids:
            if self.path is not None:
                (self.path / "cgroup.procs").write_text(f"{pid}\n")  # moves the whole thread group
                continue
            for task in Path(f"/proc/{pid}/task").iterdir():  # affinity is per thread
                os.sched_setaffinity(int(task.name), range(math.ceil(self.cores)))

    def throttled(self) -> tuple[int, int, float]:
        """(periods, throttled periods, throttled seconds) so far, from cpu.stat; zeros under taskset."""
        if self.path is None:
            return 0, 0, 0.0
        stat = dict(line.split() for line in (self.path / "cpu.stat").read_text().splitlines() if line.strip())
        if "throttled_usec" in stat:  # v2
            return int(stat["nr_periods"]), int(stat["nr_throttled"]), int(stat["throttled_usec"]) / 1e6
        return int(stat["nr_periods"]), int(stat["nr_throttled"]), int(stat["throttled_time"]) / 1e9


def cpu_list(cores: float) -> str:
    """taskset's list of the first ceil(cores) CPUs: `0-1`."""
    last = max(1, math.ceil(cores)) - 1
    return "0" if last == 0 else f"0-{last}"


def v2_parent() -> Path | None:
    """This process's cgroup v2 directory when its children get the cpu controller and we may write there."""
    if not (CGROUP_ROOT / "cgroup.controllers").is_file():
        return None
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        if line.startswith("0::"):
            parent = CGROUP_ROOT / line[3:].lstrip("/")
            control = parent / "cgroup.subtree_control"
            if control.is_file() and "cpu" in control.read_text().split() and os.access(parent, os.W_OK):
                return parent
    return None


def method_available() -> str:
    """Which method `limited` will use on this machine."""
    if v2_parent() is not None:
        return "cgroup v2 cpu.max"
    if (V1_CPU / "cpu.cfs_quota_us").is_file() and os.access(V1_CPU, os.W_OK):
        return "cgroup v1 cpu.cfs_quota_us"
    return "taskset"


def _make_child(method: str, name: str, cores: float) -> Path:
    """Create the child cgroup with the quota."""
    parent = v2_parent() if method.startswith("cgroup v2") else V1_CPU
    assert parent is not None
    path = parent / name
    path.mkdir()
    quota = round(cores * PERIOD_US)
    if method.startswith("cgroup v2"):
        (path / "cpu.max").write_text(f"{quota} {PERIOD_US}\n")
        (path / "cpu.weight").write_text(f"{V2_WEIGHT}\n")
    else:
        (path / "cpu.cfs_period_us").write_text(f"{PERIOD_US}\n")
        (path / "cpu.cfs_quota_us").write_text(f"{quota}\n")
        (path / "cpu.shares").write_text(f"{V1_SHARES}\n")
    return path


def _remove(path: Path) -> None:
    """rmdir the child once its processes have exited (they leave it as they die)."""
    deadline = time.monotonic() + REMOVE_SECONDS
    while True:
        try:
            path.rmdir()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


@contextmanager
def limited(name: str, cores: float) -> Iterator[Quota]:
    """A CPU limit of `cores` for the processes moved in with `Quota.join`; removed afterwards."""
    method = method_available()
    if method == "taskset":
        yield Quota(method, cores, None)
        return
    path = _make_child(method, f"{name}-{os.getpid()}", cores)
    try:
        yield Quota(method, cores, path)
    finally:
        _remove(path)
