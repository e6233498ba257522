"""The strace-log reader behind the fresh-clone test: it must see every read that matters, or that test proves nothing."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fresh_clone.trace import Access, absolute, judge, parse

START = "/tmp/x/repo"
LOG = """\
100 execve("/usr/bin/make", ["make", "check"], 0x7ffe /* 4 vars */) = 0
100 access(".venv/bin/gemma-gitops", X_OK) = 0
101 execve(".venv/bin/gemma-gitops", [".venv/bin/gemma-gitops", "check"], 0x55 /* 7 vars */) = 0
101 openat(AT_FDCWD</tmp/x/repo>, "values/prod.yaml", O_RDONLY|O_CLOEXEC) = 3</tmp/x/repo/values/prod.yaml>
101 openat(AT_FDCWD</tmp/x/repo>, "../sibling/crd-schemas/a.json", O_RDONLY|O_CLOEXEC) = -1 ENOENT (No such file or directory)
101 openat(3</tmp/x/repo/generator>, "cli.py", O_RDONLY) = 4</tmp/x/repo/generator/cli.py>
101 newfstatat(AT_FDCWD</tmp/x/repo>, "/work/main/generator", 0x7ffe, 0) = 0
101 openat(AT_FDCWD</tmp/x/repo>, "/work/elsewhere/x.json", O_RDONLY) = 5</work/elsewhere/x.json>
101 newfstatat(AT_FDCWD</tmp/x/repo>, "/tmp/x", {st_mode=S_IFDIR|0755, ...}, AT_SYMLINK_NOFOLLOW) = 0
101 chdir("/tmp/x/repo/sub") = 0
101 stat("../a\\"b", 0x7ffe) = -1 ENOENT (No such file or directory)
101 connect(6<socket:[99]>, {sa_family=AF_INET, sin_port=htons(443), sin_addr=inet_addr("140.82.112.3")}, 16) = -1 ENETUNREACH (Network is unreachable)
101 connect(7<socket:[98]>, {sa_family=AF_UNIX, sun_path="/var/run/nscd/socket"}, 110) = -1 ENOENT (No such file or directory)
101 +++ exited with 0 +++
"""


def test_every_path_is_made_absolute_against_where_it_was_opened_from() -> None:
    trace = parse(LOG.splitlines(), START)
    assert [(a.call, a.path, a.ok) for a in trace.accesses] == [
        ("execve", "/usr/bin/make", True),
        ("access", "/tmp/x/repo/.venv/bin/gemma-gitops", True),  # no hint: the starting directory
        ("execve", "/tmp/x/repo/.venv/bin/gemma-gitops", True),
        ("openat", "/tmp/x/repo/values/prod.yaml", True),
        ("openat", "/tmp/x/sibling/crd-schemas/a.json", False),
        ("openat", "/tmp/x/repo/generator/cli.py", True),  # relative to an open directory fd
        ("newfstatat", "/work/main/generator", True),
        ("openat", "/work/elsewhere/x.json", True),
        ("newfstatat", "/tmp/x", True),
        ("chdir", "/tmp/x/repo/sub", True),
        ("stat", '/tmp/x/repo/a"b', False),  # after chdir, escapes undone
    ]
    assert trace.connections == ("140.82.112.3",)


def test_only_successful_opens_and_execs_count_as_opened() -> None:
    assert Access(1, "openat", "/a", True).opened and Access(1, "execve", "/a", True).opened
    assert not Access(1, "openat", "/a", False).opened and not Access(1, "newfstatat", "/a", True).opened


def test_the_verdict_counts_allowed_opens_and_names_everything_else() -> None:
    trace = parse(LOG.splitlines(), START)
    allowed = {"clone": ["/tmp/x/repo"], "system": ["/usr"]}
    verdict = judge(trace, allowed, forbidden=["/tmp/x", "/work/main"], exceptions=["/tmp/x/repo"], realpath=False)
    assert verdict.counts == {"clone": 3, "system": 1}
    assert verdict.outside == ("/work/elsewhere/x.json",)
    # /tmp/x itself is the clone's parent, looked at on the way into the clone: not a touch beside it.
    assert verdict.forbidden == ("/tmp/x/sibling/crd-schemas/a.json", "/work/main/generator")
    assert verdict.connections == ("140.82.112.3",)


@pytest.mark.parametrize(("path", "base", "expected"), [
    ("a/b", "/r", "/r/a/b"), ("../s/x", "/t/r", "/t/s/x"), ("/abs/./p", "/r", "/abs/p"), (".", "/r", "/r"),
])
def test_absolute(path: str, base: str, expected: str) -> None:
    assert absolute(path, base) == expected


def test_the_reader_understands_the_real_strace(tmp_path: Path) -> None:
    """The same reader on a real `strace` of a Python that reads one file relative to its directory."""
    strace = shutil.which("strace")
    if strace is None:
        pytest.skip("strace is not installed (the fresh-clone test says how to install it)")
    (tmp_path / "data.txt").write_text("x")
    log = tmp_path / "trace.log"
    code = "import os; open('data.txt').read(); os.path.exists('../nowhere')"
    subprocess.run([strace, "-f", "-qq", "-y", "-s", "4096", "-e", "trace=%file,connect", "-o", str(log),
                    sys.executable, "-c", code], cwd=tmp_path, check=True)
    trace = parse(log.read_text().splitlines(), str(tmp_path))
    opened = [a.path for a in trace.accesses if a.opened]
    assert str(tmp_path / "data.txt") in opened
    assert any(a.path == str(tmp_path.parent / "nowhere") and not a.ok for a in trace.accesses)
