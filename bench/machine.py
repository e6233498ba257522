"""What the numbers were measured on: cores, CPU, versions, the commit."""

from __future__ import annotations

import os
import platform
import re
import subprocess
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def cpu_model() -> str:
    """The `model name` of /proc/cpuinfo, or the platform's guess."""
    try:
        match = re.search(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.MULTILINE)
    except OSError:
        match = None
    return match.group(1).strip() if match else (platform.processor() or "unknown")


def cores() -> int:
    """What `nproc` prints: the CPUs this process may run on."""
    return len(os.sched_getaffinity(0))


def tool_version(argv: list[str]) -> str:
    """The first line a tool prints about its version (stdout or stderr), or `not installed`."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "not installed"
    lines = (done.stdout + done.stderr).strip().splitlines()
    return lines[0].strip() if lines else "unknown"


def commit() -> str:
    """The checked-out commit, `+ local changes` when the tree differs from it."""
    head = tool_version(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"])
    dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True, timeout=10, check=False).stdout.strip()
    return f"{head} + local changes" if dirty else head


def load_average() -> str:
    """The 1-, 5- and 15-minute load averages: other work on the machine skews every number."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def cpu_busy(seconds: float = 2.0) -> float:
    """The share of all CPUs busy over `seconds`, from /proc/stat: what else runs before we start."""
    def sample() -> tuple[int, int]:
        fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
        idle = fields[3] + fields[4]  # idle + iowait
        return sum(fields) - idle, sum(fields)

    busy0, total0 = sample()
    time.sleep(seconds)
    busy1, total1 = sample()
    return (busy1 - busy0) / max(1, total1 - total0)


def describe() -> dict[str, str]:
    """Machine facts for the results header, in display order."""
    return {
        "cores (nproc)": str(cores()),
        "CPU": cpu_model(),
        "kernel": platform.release(),
        "Python": platform.python_version(),
        "commit": commit(),
        "load average at start": load_average(),
        "CPU busy before start (2 s sample)": f"{cpu_busy():.0%}",
    }
