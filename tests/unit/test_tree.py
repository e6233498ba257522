"""The tree's write protocol, step by step: staging, the journal's states, recovery, leftovers, the lock."""

from __future__ import annotations

import fcntl
import os
import stat
import time
from pathlib import Path

import pytest

from generator import lock, tree

RUN = "0123456789abcdef"


def layout(root: Path, **dirs: str) -> None:
    """Directories in root, each holding one file `f` with the given text."""
    for name, text in dirs.items():
        (root / name).mkdir()
        (root / name / "f").write_text(text)


def swap(existed: bool = True) -> tree.Swap:
    return tree.Swap("rendered", f".gemma-gitops-{RUN}.rendered.new", f".gemma-gitops-{RUN}.rendered.old", existed)


@pytest.mark.parametrize(("present", "state"), [
    ({"rendered": "old", f".gemma-gitops-{RUN}.rendered.new": "new"}, "pending"),
    ({f".gemma-gitops-{RUN}.rendered.old": "old", f".gemma-gitops-{RUN}.rendered.new": "new"}, "moved aside"),
    ({"rendered": "new", f".gemma-gitops-{RUN}.rendered.old": "old"}, "applied"),
    ({f".gemma-gitops-{RUN}.rendered.old": "old"}, "cannot tell which generation is on disk"),
    ({"rendered": "x", f".gemma-gitops-{RUN}.rendered.old": "old", f".gemma-gitops-{RUN}.rendered.new": "new"},
     "cannot tell which generation is on disk"),
])
def test_every_state_a_run_can_leave(tmp_path: Path, present: dict[str, str], state: str) -> None:
    layout(tmp_path, **present)
    assert tree._state(tmp_path, swap()) == state


def test_completing_from_each_state_gives_the_new_directory(tmp_path: Path) -> None:
    for present in ({"rendered": "old", f".gemma-gitops-{RUN}.rendered.new": "new"},
                    {f".gemma-gitops-{RUN}.rendered.old": "old", f".gemma-gitops-{RUN}.rendered.new": "new"},
                    {"rendered": "new", f".gemma-gitops-{RUN}.rendered.old": "old"}):
        root = tmp_path / str(len(list(tmp_path.iterdir())))
        root.mkdir()
        layout(root, **present)
        tree.write_journal(root, RUN, (swap(),))
        tree.recover(root)
        assert (root / "rendered/f").read_text() == "new"
        assert sorted(os.listdir(root)) == ["rendered"]


def test_a_staged_copy_replaced_by_a_symlink_is_not_swapped_in(tmp_path: Path) -> None:
    layout(tmp_path, rendered="old")
    (tmp_path / f".gemma-gitops-{RUN}.rendered.new").symlink_to("/etc")
    tree.write_journal(tmp_path, RUN, (swap(),))
    with pytest.raises(tree.TreeError, match="rendered: cannot use the staged copy: it is not a directory"):
        tree.recover(tmp_path)
    assert (tmp_path / "rendered/f").read_text() == "old"


@pytest.mark.parametrize("body", ["not json", *(
    '{"format": "gemma-gitops-journal/1", "swaps": [{"target": "rendered", '
    f'"staged": "{staged}", "previous": ".gemma-gitops-0123456789abcdef.rendered.old", "existed": true}}]}}'
    for staged in ("../../etc", "../../etc/x.rendered.new"))])  # the second ends as a staged name does
def test_a_damaged_journal_is_an_error(tmp_path: Path, body: str) -> None:
    (tmp_path / tree.JOURNAL).write_text(body)
    with pytest.raises(tree.TreeError, match="is damaged or not ours"):
        tree.recover(tmp_path)


def test_sweep_restores_an_old_versions_moved_aside_directory(tmp_path: Path) -> None:
    layout(tmp_path, **{".rendered.previous": "old", ".argocd.staging": "half"})
    tree.sweep(tmp_path)
    assert (tmp_path / "rendered/f").read_text() == "old" and sorted(os.listdir(tmp_path)) == ["rendered"]


def test_write_new_never_follows_a_symlink(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    base = tmp_path / "base"
    base.mkdir()
    (base / "prod").symlink_to(outside)
    with pytest.raises(OSError):
        tree.write_new(base, ("prod", "x.yaml"), b"data")
    (base / "y.yaml").symlink_to(outside / "y.yaml")
    with pytest.raises(FileExistsError):
        tree.write_new(base, ("y.yaml",), b"data")
    assert list(outside.iterdir()) == []


@pytest.mark.parametrize("rel", ["rendered/../x", "rendered", "argocd/x", "/rendered/x", "rendered//x", "rendered/./x"])
def test_parts_of_refuses_paths_that_leave_their_directory(rel: str) -> None:
    with pytest.raises(tree.TreeError, match="refusing to write outside rendered/"):
        tree.parts_of(rel, "rendered")


def test_a_reader_lock_on_a_dead_writers_line_names_no_one(tmp_path: Path) -> None:
    fd = os.open(tmp_path / lock.LOCK_FILE, os.O_RDWR | os.O_CREAT)
    os.write(fd, b"pid 999999999, `gemma-gitops render`, since 2025-01-01T00:00:00Z\n")
    fcntl.flock(fd, fcntl.LOCK_SH)
    other = os.open(tmp_path / lock.LOCK_FILE, os.O_RDWR)
    try:
        with pytest.raises(lock.LockHeld, match="a command reading the project: check, validate, diff or budget"):
            lock.acquire(other, True, 0, tmp_path)
        lock.acquire(other, False, 0, tmp_path)  # readers share
    finally:
        os.close(other)
        os.close(fd)


def test_the_lock_file_may_not_be_a_symlink(tmp_path: Path) -> None:
    (tmp_path / lock.LOCK_FILE).symlink_to(tmp_path / "elsewhere")
    with pytest.raises(lock.LockUnusable, match="is a symlink"), lock.hold(tmp_path, True, 0, "render"):
        pass
    assert not (tmp_path / "elsewhere").exists()


def listing(root: Path) -> list[str]:
    """Every directory and file under root, relative, sorted: empty folders and leftovers show."""
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*"))


def test_a_write_leaves_exactly_the_new_outputs(tmp_path: Path) -> None:
    ours = "# Generated by gemma-gitops from values/prod.yaml.\n"
    for rel, text in {"rendered/prod/a.yaml": "old\n", "rendered/prod/sub/deep/b.yaml": "gone\n",
                      "rendered/staging/c.yaml": "other env\n", "argocd/root.yaml": "hand-written\n"}.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    scopes = ("rendered/prod", "argocd/prod.yaml")
    desired = {"rendered/prod/a.yaml": b"new\n", "argocd/prod.yaml": ours.encode()}
    drift = tree.write(tmp_path, desired, tree.owned_on_disk(tmp_path, scopes), scopes)
    assert drift == tree.Drift(added=("argocd/prod.yaml",), changed=("rendered/prod/a.yaml",),
                               removed=("rendered/prod/sub/deep/b.yaml",))
    # no emptied folders (sub/, sub/deep/), no staged or moved-aside directory, no journal
    assert listing(tmp_path) == ["argocd", "argocd/prod.yaml", "argocd/root.yaml", "rendered", "rendered/prod",
                                 "rendered/prod/a.yaml", "rendered/staging", "rendered/staging/c.yaml"]
    assert (tmp_path / "rendered/staging/c.yaml").read_text() == "other env\n"
    assert (tmp_path / "argocd/root.yaml").read_text() == "hand-written\n"
    assert (tmp_path / "rendered/prod/a.yaml").read_text() == "new\n"


def test_sweep_removes_exactly_what_a_dead_run_leaves(tmp_path: Path) -> None:
    dead = {f".gemma-gitops-{RUN}.rendered.new": "staged", f".gemma-gitops-{RUN}.argocd.old": "aside",
            ".rendered.staging": "legacy"}
    kept = {".gemma-gitops-0123.rendered.new": "not a run's name", f".gemma-gitops-{RUN}.values.new": "not ours",
            "rendered": "current"}
    layout(tmp_path, **dead, **kept)
    (tmp_path / f".gemma-gitops-{RUN}.rendered.new/nested").mkdir()
    (tmp_path / f".gemma-gitops-{RUN}.journal").write_text("a draft")
    assert tree.leftovers(tmp_path) == sorted([*dead, f".gemma-gitops-{RUN}.journal"])
    tree.sweep(tmp_path)
    assert sorted(os.listdir(tmp_path)) == sorted(kept)


def test_the_diff_of_an_added_a_changed_and_a_removed_file() -> None:
    desired = {"rendered/prod/new.yaml": b"a: 1\n", "rendered/prod/same.yaml": b"x\n", "rendered/prod/changed.yaml": b"a: 0\nk: 2"}
    actual = {"rendered/prod/old.yaml": b"b: 1\nc: 2\n", "rendered/prod/same.yaml": b"x\n", "rendered/prod/changed.yaml": b"a: 0\nk: 1\n"}
    drift = tree.compare(desired, actual)
    assert drift == tree.Drift(("rendered/prod/new.yaml",), ("rendered/prod/changed.yaml",), ("rendered/prod/old.yaml",))
    assert tree.unified_diff(desired, actual, drift) == (
        "--- a/rendered/prod/changed.yaml\n+++ b/rendered/prod/changed.yaml\n@@ -1,2 +1,2 @@\n a: 0\n-k: 1\n+k: 2\n"
        "--- /dev/null\n+++ b/rendered/prod/new.yaml\n@@ -0,0 +1 @@\n+a: 1\n"
        "--- a/rendered/prod/old.yaml\n+++ /dev/null\n@@ -1,2 +0,0 @@\n-b: 1\n-c: 2\n"
    )


def test_the_disk_is_read_in_name_order_whatever_the_directory_order(tmp_path: Path) -> None:
    names = [f"{c}{i}" for i, c in enumerate("qwertyuiopas")]  # twelve folders: readdir's hash order is not theirs
    for name in names:
        (tmp_path / "rendered" / name).mkdir(parents=True)
        (tmp_path / "rendered" / name / "f.yaml").write_text(name)
    assert list(tree.owned_on_disk(tmp_path, ["rendered"])) == [f"rendered/{n}/f.yaml" for n in sorted(names)]


def test_the_diff_of_a_file_that_is_not_utf8_shows_it_replaced_not_a_crash() -> None:
    desired, actual = {"rendered/prod/a.yaml": b"\xfeok\n"}, {"rendered/prod/a.yaml": b"\xff\n"}
    assert tree.unified_diff(desired, actual, tree.compare(desired, actual)).splitlines()[-2:] == ["-\ufffd", "+\ufffdok"]


def test_every_stuck_directory_is_named(tmp_path: Path) -> None:
    argocd = tree.Swap("argocd", f".gemma-gitops-{RUN}.argocd.new", f".gemma-gitops-{RUN}.argocd.old", True)
    layout(tmp_path, **{f".gemma-gitops-{RUN}.rendered.old": "old", f".gemma-gitops-{RUN}.argocd.old": "old"})
    tree.write_journal(tmp_path, RUN, (swap(), argocd))
    with pytest.raises(tree.TreeError, match=r"cannot be completed \(rendered: cannot tell which generation is on disk; "
                       r"argocd: cannot tell which generation is on disk\); the journal .* lists what was staged where: "
                       r"restore the directories from git, then delete it\Z"):
        tree.recover(tmp_path)


@pytest.mark.parametrize(("filename", "text"), [(None, "No space left on device"),
                                                ("/project/.gemma-gitops-x.rendered.new", ".gemma-gitops-x.rendered.new: No space left on device")])
def test_an_os_error_is_described_by_the_name_it_hit(filename: str | None, text: str) -> None:
    assert tree._describe(OSError(28, "No space left on device", filename)) == text


def reader(root: Path) -> int:
    """A descriptor of the project lock held shared, as a reading command holds it."""
    fd = os.open(root / lock.LOCK_FILE, os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_SH)
    return fd


def test_a_reader_that_cannot_recover_alone_waits_its_time_then_says_so(tmp_path: Path) -> None:
    layout(tmp_path, rendered="old", **{f".gemma-gitops-{RUN}.rendered.new": "new"})
    tree.write_journal(tmp_path, RUN, (swap(),))
    other, mine = reader(tmp_path), reader(tmp_path)  # another reader keeps it from taking the lock alone
    try:
        started = time.monotonic()
        with pytest.raises(lock.LockHeld):
            tree._recover_as_reader(mine, tmp_path, 0.3)
        assert 0.3 <= time.monotonic() - started < 0.9  # its own wait, polled, not one try nor a longer one
        assert (tmp_path / "rendered/f").read_text() == "old" and (tmp_path / tree.JOURNAL).exists()
    finally:
        os.close(mine)
        os.close(other)


def test_a_reader_leaves_mere_leftovers_to_the_next_writer_when_it_is_not_alone(tmp_path: Path) -> None:
    layout(tmp_path, rendered="current", **{f".gemma-gitops-{RUN}.rendered.old": "old"})
    other, mine = reader(tmp_path), reader(tmp_path)
    try:
        started = time.monotonic()
        tree._recover_as_reader(mine, tmp_path, 5)
        assert time.monotonic() - started < 2  # at once, not after its 5 s
        assert tree.leftovers(tmp_path) == [f".gemma-gitops-{RUN}.rendered.old"]
        os.close(other)
        other = -1
        assert not can_lock(tmp_path, fcntl.LOCK_EX)  # it still reads under its shared lock (its failed try dropped it)
    finally:
        os.close(mine)
        if other != -1:
            os.close(other)


def can_lock(root: Path, kind: int) -> bool:
    """Whether another descriptor could take the project lock this way now."""
    fd = os.open(root / lock.LOCK_FILE, os.O_RDWR)
    try:
        fcntl.flock(fd, kind | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(fd)


def test_a_reader_alone_completes_the_write_then_shares_the_lock_again(tmp_path: Path) -> None:
    layout(tmp_path, rendered="old", **{f".gemma-gitops-{RUN}.rendered.new": "new"})
    tree.write_journal(tmp_path, RUN, (swap(),))
    mine = reader(tmp_path)
    try:
        tree._recover_as_reader(mine, tmp_path, 1)
        assert (tmp_path / "rendered/f").read_text() == "new" and sorted(os.listdir(tmp_path)) == [lock.LOCK_FILE, "rendered"]
        assert can_lock(tmp_path, fcntl.LOCK_SH) and not can_lock(tmp_path, fcntl.LOCK_EX)
    finally:
        os.close(mine)


def test_what_a_write_carries_over_keeps_its_mode_and_stays_a_symlink(tmp_path: Path) -> None:
    (tmp_path / "rendered/staging/private").mkdir(parents=True)
    (tmp_path / "rendered/staging/private").chmod(0o750)
    (tmp_path / "rendered/staging/link.yaml").symlink_to("private/target.yaml")
    scopes = ("rendered/prod",)
    tree.write(tmp_path, {"rendered/prod/a.yaml": b"new\n"}, tree.owned_on_disk(tmp_path, scopes), scopes)
    assert stat.S_IMODE((tmp_path / "rendered/staging/private").stat().st_mode) == 0o750
    assert os.readlink(tmp_path / "rendered/staging/link.yaml") == "private/target.yaml"


def test_a_special_file_in_the_way_of_a_carry_stops_the_write_with_its_name(tmp_path: Path) -> None:
    (tmp_path / "rendered/staging").mkdir(parents=True)
    os.mkfifo(tmp_path / "rendered/staging/pipe")
    scopes = ("rendered/prod",)
    with pytest.raises(tree.ProjectStateError, match=r"\Arendered/staging/pipe is a special file .* of rendered/: move it aside\Z"):
        tree.write(tmp_path, {"rendered/prod/a.yaml": b"new\n"}, tree.owned_on_disk(tmp_path, scopes), scopes)
    assert sorted(os.listdir(tmp_path)) == ["rendered"]  # nothing staged is left behind
