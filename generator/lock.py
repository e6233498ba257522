"""The project lock: one writer at a time, readers beside each other, released by the kernel however a run ends.

An `flock(2)` on `.gemma-gitops.lock` in the project root: exclusive for a command that writes
(`render`, and any command that must finish an interrupted write), shared for one that only reads.
The kernel drops a lock when the last descriptor of its open file closes, which a SIGKILL does too,
so a dead run never leaves the project locked (flock(2): "the lock is released either by an explicit
LOCK_UN operation ... or when all such file descriptors have been closed"). A second run waits a
bounded time, then exits 1 naming the holder, whose pid, command and start time the writer keeps in
the file.
"""

from __future__ import annotations

import errno
import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path

from .errors import EXIT_FAILED, GeneratorError

LOCK_FILE = ".gemma-gitops.lock"
POLL_SECONDS = 0.05
MAX_HOLDER_BYTES = 4096


class LockHeld(GeneratorError):
    """Another run holds the project lock and did not let go in time."""

    exit_code = EXIT_FAILED


class LockUnusable(GeneratorError):
    """The lock file cannot be used: a symlink or something else in its place."""


@contextmanager
def hold(root: Path, exclusive: bool, wait_seconds: float, command: str) -> Iterator[int | None]:
    """Hold the project's lock for the block; yields the lock's descriptor, or None when a read-only
    project cannot have one (nothing can write there either)."""
    fd = open_lock(root, exclusive)
    if fd is None:
        yield None
        return
    try:
        acquire(fd, exclusive, wait_seconds, root)
        if exclusive:
            write_holder(fd, command)
        try:
            yield fd
        finally:
            if exclusive:
                with suppress(OSError):
                    os.ftruncate(fd, 0)  # the holder has finished; a stale line would mislead the next waiter
    finally:
        os.close(fd)


def open_lock(root: Path, exclusive: bool) -> int | None:
    """The lock file's descriptor, never through a symlink; None for a reader on a read-only filesystem."""
    try:
        return os.open(root / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    except OSError as err:
        if err.errno == errno.ELOOP:
            raise LockUnusable(f"{LOCK_FILE} is a symlink; the project lock must be a plain file in the project "
                               f"(remove {root / LOCK_FILE}, then run again)") from err
        if not exclusive and err.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            return None
        raise LockHeld(f"cannot open the project lock {root / LOCK_FILE}: {err.strerror}") from err


def acquire(fd: int, exclusive: bool, wait_seconds: float, root: Path) -> None:
    """Take the lock, polling until `wait_seconds` have passed; then LockHeld naming the holder."""
    deadline = time.monotonic() + max(0.0, wait_seconds)
    mode = (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB
    while True:
        try:
            fcntl.flock(fd, mode)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise LockHeld(f"another gemma-gitops run holds the project lock {LOCK_FILE} ({holder(fd)}); "
                               f"waited {wait_seconds:g} s: run again when it has finished") from None
            time.sleep(POLL_SECONDS)


def write_holder(fd: int, command: str) -> None:
    """Record who holds the lock: pid, command, start time (UTC); a nicety, so a full disk does not stop the run."""
    started = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    with suppress(OSError):
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}, `gemma-gitops {command}`, since {started}\n".encode(), 0)


def holder(fd: int) -> str:
    """Who holds the lock, as its writer recorded it; readers record nothing."""
    line = os.pread(fd, MAX_HOLDER_BYTES, 0).decode("utf-8", "replace").strip()
    if not line.startswith("pid ") or not alive(line.split(",", 1)[0].removeprefix("pid ")):
        return "a command reading the project: check, validate, diff or budget"
    return line


def alive(pid: str) -> bool:
    """Whether a process with this pid exists."""
    try:
        os.kill(int(pid), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True
