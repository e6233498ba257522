"""Read an `strace -f -y` log into the paths a command tree touched, and judge them against allowed roots.

The log comes from `strace -f -qq -y -s 4096 -e trace=%file,connect`: one syscall per line, prefixed
by the pid. `-y` prints each file descriptor with its path (`AT_FDCWD</cwd>`, `= 3</real/path>`), so
a relative path is resolved against the directory it was opened from and a successful open names the
real file it got. A relative path without such a hint (`access("x")`, `execve("x")`) is resolved
against the last directory that process was seen in, else the command's starting directory.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

# Syscalls whose first string argument is a path. Anything else in %file (xattr names, rename
# targets) is not read through, so it is not judged.
PATH_SYSCALLS = frozenset({
    "open", "openat", "openat2", "creat", "execve", "execveat", "stat", "lstat", "newfstatat", "statx",
    "access", "faccessat", "faccessat2", "readlink", "readlinkat", "chdir", "truncate", "utimensat",
})
OPEN_SYSCALLS = frozenset({"open", "openat", "openat2", "creat", "execve", "execveat"})

_LINE = re.compile(r"^(?P<pid>\d+) +(?P<call>\w+)\((?P<args>.*)\) += (?P<result>-?\d+)(?:<(?P<fd>[^>]*)>)?")
_PATH_ARG = re.compile(r'(?:(?P<dirfd>AT_FDCWD|\d+)<(?P<dir>/[^>]*)>, )?"(?P<path>(?:[^"\\]|\\.)*)"')
_INET = re.compile(r'sa_family=AF_INET6?\b.*?inet_(?:addr|pton)\((?:AF_INET6?, )?"(?P<address>[^"]+)"')


@dataclass(frozen=True)
class Access:
    """One path a process touched: the syscall, the absolute path, and whether it succeeded."""

    pid: int
    call: str
    path: str  # absolute and normalized; for a successful open, the real file it opened
    ok: bool

    @property
    def opened(self) -> bool:
        """Whether a file was opened or executed (not only looked at)."""
        return self.ok and self.call in OPEN_SYSCALLS


@dataclass(frozen=True)
class Trace:
    """Everything a traced run touched."""

    accesses: tuple[Access, ...]
    connections: tuple[str, ...]  # IPv4/IPv6 addresses a process tried to connect to


def parse(lines: Iterable[str], start: str) -> Trace:
    """The accesses and network connections in an strace log; `start` is the traced command's directory."""
    accesses: list[Access] = []
    connections: list[str] = []
    cwd: dict[int, str] = {}  # pid -> its working directory, as last seen in an AT_FDCWD</...> hint
    for line in lines:
        match = _LINE.match(line.rstrip("\n"))
        if match is None:
            continue
        pid, call, args = int(match["pid"]), match["call"], match["args"]
        if call == "connect":
            connections += [m["address"] for m in _INET.finditer(args)]
            continue
        argument = _PATH_ARG.search(args)
        if call not in PATH_SYSCALLS or argument is None:
            continue
        if argument["dirfd"] == "AT_FDCWD":
            cwd[pid] = argument["dir"]
        access = _access(pid, call, argument, match, argument["dir"] or cwd.get(pid, start))
        accesses.append(access)
        if call == "chdir" and access.ok:
            cwd[pid] = access.path
    return Trace(tuple(accesses), tuple(connections))


def _access(pid: int, call: str, argument: re.Match[str], line: re.Match[str], base: str) -> Access:
    """The Access of one path syscall; a successful open is named by the real file strace saw it get."""
    ok = int(line["result"]) >= 0
    if ok and call in OPEN_SYSCALLS and line["fd"] and line["fd"].startswith("/"):
        return Access(pid, call, os.path.normpath(line["fd"]), ok)
    return Access(pid, call, absolute(unescape(argument["path"]), base), ok)


def unescape(text: str) -> str:
    """A path as strace printed it (C escapes, non-ASCII bytes in octal) back to text."""
    raw = text.encode("latin-1", "backslashreplace").decode("unicode_escape").encode("latin-1")
    return raw.decode("utf-8", "replace")


def absolute(path: str, base: str) -> str:
    """`path` made absolute against `base` and normalized (`..` folded), without touching the disk."""
    return os.path.normpath(path if path.startswith("/") else os.path.join(base, path))


def within(path: str, root: str) -> bool:
    """Whether `path` is `root` or below it."""
    return PurePosixPath(path).is_relative_to(root)


@dataclass(frozen=True)
class Verdict:
    """What the run opened, by allowed root, and everything it must not have done."""

    counts: Mapping[str, int]  # opened files per allowed root's label
    outside: tuple[str, ...]  # files opened outside every allowed root
    forbidden: tuple[str, ...]  # any touch, even a failed one, of a forbidden place
    connections: tuple[str, ...]


def judge(trace: Trace, allowed: Mapping[str, Sequence[str]], forbidden: Sequence[str],
          exceptions: Sequence[str] = (), realpath: bool = True) -> Verdict:
    """Sort the opened files under the allowed roots (first match wins); list what falls outside, and
    every access under a forbidden root that is not in an exception or one of its ancestors."""
    counts = dict.fromkeys(allowed, 0)
    outside: list[str] = []
    for access in trace.accesses:
        if not access.opened:
            continue
        path = os.path.realpath(access.path) if realpath else access.path
        label = next((name for name, roots in allowed.items() if any(within(path, r) for r in roots)), None)
        if label is None:
            outside.append(path)
        else:
            counts[label] += 1
    # An exception's ancestors are looked at by anything that resolves a path into it (lstat of each
    # component), so they are not touches of the forbidden place.
    touched = [a.path for a in trace.accesses if any(within(a.path, r) for r in forbidden)
               and not any(within(a.path, e) or within(e, a.path) for e in exceptions)]
    return Verdict(counts, tuple(sorted(set(outside))), tuple(sorted(set(touched))), trace.connections)
