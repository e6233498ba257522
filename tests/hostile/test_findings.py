"""Issue 18, finding by finding: each reproduced as the review describes it, asserting what happens now.

The concurrent renders (finding 1) and the kills between directory swaps (finding 2) are in
test_concurrency.py and test_kill.py; random values files in test_property.py.
"""

from __future__ import annotations

import errno
import fcntl
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from generator import guards, tree
from generator.lock import LOCK_FILE
from generator.pipeline import render as render_stages
from generator.settings import PACKAGED_SCHEMA
from tests.conftest import REPO, Run
from tests.hostile.conftest import (
    VALID_TAIL,
    append_prod,
    bound_by_modes,
    gemma,
    in_mount_namespace,
    no_traceback,
    outputs,
    state,
)
from tests.plans import plan_for

# -- 1. two renders at once: one writer at a time ------------------------------------------------


def test_1_a_second_writer_waits_then_exits_1_naming_the_holder(run: Run, project: Path) -> None:
    run("render")
    before = state(project)
    fd = os.open(project / LOCK_FILE, os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)
    os.pwrite(fd, f"pid {os.getpid()}, `gemma-gitops render prod`, since 2025-01-01T00:00:00Z\n".encode(), 0)
    try:
        append_prod(project, "replicas: 2\n")
        started = time.monotonic()
        result = gemma(project, "render", env={"GEMMA_GITOPS_LOCK_WAIT": "0.5"})
        waited = time.monotonic() - started
    finally:
        os.close(fd)
    assert result.returncode == 1, result.stderr
    assert result.stderr.splitlines() == [
        f"error: another gemma-gitops run holds the project lock .gemma-gitops.lock (pid {os.getpid()}, "
        "`gemma-gitops render prod`, since 2025-01-01T00:00:00Z); waited 0.5 s: run again when it has finished"]
    assert waited >= 0.5
    assert state(project) == before
    assert gemma(project, "render").returncode == 0  # the kernel released it with the descriptor


def test_1_a_killed_holder_releases_the_lock(project: Path) -> None:
    code = ("import fcntl, os, sys, time; fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT); "
            "fcntl.flock(fd, fcntl.LOCK_EX); print('locked', flush=True); time.sleep(60)")
    with subprocess.Popen([sys.executable, "-c", code, str(project / LOCK_FILE)], stdout=subprocess.PIPE, text=True) as holder:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        holder.kill()
    result = gemma(project, "render", env={"GEMMA_GITOPS_LOCK_WAIT": "0"})
    assert result.returncode == 0, result.stderr


def test_1_staging_names_are_unique_per_run(project: Path) -> None:
    first, second = (tree.swaps_for(project, run, ["rendered"])[0] for run in ("0" * 16, "f" * 16))
    assert first.staged != second.staged and first.previous != second.previous
    assert all(tree.LEFTOVER_NAME.match(n) for n in (first.staged, first.previous, second.staged, second.previous))


# -- 2. all-or-nothing across rendered/, argocd/, docs/ ------------------------------------------


def change_namespace(project: Path) -> None:
    """A change that touches rendered/prod, argocd/prod.yaml at once (the namespace is in both)."""
    prod = project / "values/prod.yaml"
    prod.write_text(prod.read_text().replace("namespace: default", "namespace: gemma-prod"))


def test_2_a_failing_second_swap_puts_the_first_back(run: Run, project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run("render")
    before = state(project)
    change_namespace(project)
    real_rename = os.rename

    def read_only_argocd(source: str | Path, dest: str | Path) -> None:
        if Path(source).name == "argocd":
            raise OSError(errno.EROFS, "Read-only file system", str(source))
        real_rename(source, dest)

    monkeypatch.setattr(os, "rename", read_only_argocd)
    result = run("render")
    monkeypatch.undo()
    assert result.exit_code == 1
    assert result.output.splitlines()[-1] == ("error: cannot swap in the new files (argocd: Read-only file system); "
                                              "everything was put back as it was")
    assert state(project) == before


def test_2_a_read_only_argocd_mount_changes_nothing(run: Run, project: Path) -> None:
    """A real read-only mount (a mount point cannot be renamed): exit 1, rendered/ untouched too."""
    run("render")
    before = state(project)
    change_namespace(project)
    prefix = in_mount_namespace(f"mount --bind -o ro {project / 'argocd'} {project / 'argocd'}")
    result = gemma(project, "render", prefix=prefix)
    assert result.returncode == 1, result.stderr
    assert no_traceback(result.stderr)
    assert "everything was put back as it was" in result.stderr.splitlines()[-1]
    assert state(project) == before


def test_2_a_full_disk_changes_nothing(tmp_path: Path) -> None:
    """The project on a 600 KiB tmpfs, filled up after the first render: the second cannot stage (ENOSPC)."""
    project, out = tmp_path / "small", tmp_path
    project.mkdir()
    outputs = f"{project}/rendered {project}/argocd {project}/docs"
    script = "\n".join([
        f"cp -r {REPO}/values {REPO}/schemas {project}",
        f"python -m generator --root {project} render >/dev/null 2>&1 || exit 9",
        f"sed -i 's/namespace: default/namespace: gemma-prod/' {project}/values/prod.yaml",
        f"dd if=/dev/zero of={project}/filler bs=1k count=1000 status=none 2>/dev/null",
        f"find {outputs} -type f | sort | xargs sha256sum > {out}/before",
        f"python -m generator --root {project} render 2>{out}/stderr; echo $? > {out}/rc",
        f"find {outputs} -type f | sort | xargs sha256sum > {out}/after",
        f"ls -a {project} > {out}/listing",
    ])
    prefix = in_mount_namespace(f"mount -t tmpfs -o size=600k tmpfs {project}")
    environ = {**os.environ, "PYTHONPATH": str(REPO), "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    result = subprocess.run([*prefix, "sh", "-c", script], capture_output=True, text=True, env=environ, check=False)
    assert result.returncode == 0, result.stderr
    stderr = (out / "stderr").read_text()
    assert (out / "rc").read_text().strip() == "1", stderr
    assert "No space left on device" in stderr and "nothing was changed" in stderr and no_traceback(stderr)
    assert (out / "before").read_text() == (out / "after").read_text()
    assert not [n for n in (out / "listing").read_text().split() if tree.LEFTOVER_NAME.match(n) or n == tree.JOURNAL]


# -- 3. floats pass as integers ------------------------------------------------------------------


@pytest.mark.parametrize(("snippet", "path", "line"), [
    ("proxy:\n  port: 8080.0\n", "proxy.port", 50),
    ("proxy:\n  workerProcesses: 1.0\n", "proxy.workerProcesses", 50),
    ("replicas: 1.0\n", "replicas", 49),
    ("requestTimeoutSeconds: 6.0e+2\n", "requestTimeoutSeconds", 49),
])
def test_3_a_float_is_not_an_integer(run: Run, project: Path, snippet: str, path: str, line: int) -> None:
    run("render")
    before = state(project)
    append_prod(project, snippet)
    result = run("render", "prod")
    assert result.exit_code == 2
    value = snippet.rsplit(": ", 1)[1].strip()
    assert f"  values/prod.yaml::{path} (line {line}): {float(value)!r} is not of type 'integer'" in result.output
    assert state(project) == before


def test_3_llama_port_float(run: Run, project: Path) -> None:
    prod = project / "values/prod.yaml"
    prod.write_text(prod.read_text().replace("  contextSize: 4096\n", "  contextSize: 4096\n  port: 8000.0\n"))
    result = run("render", "prod")
    assert result.exit_code == 2
    assert "values/prod.yaml::llama.port (line 14): 8000.0 is not of type 'integer'" in result.output


# -- 4. patterns anchor at the real end ----------------------------------------------------------


@pytest.mark.parametrize(("old", "new", "path"), [
    ("hostname: gemma.example.com", 'hostname: "gemma.example.com\\n"', "hostname"),
    ("namespace: default", 'namespace: "default\\n"', "namespace"),
    ("namespace: default", 'namespace: default\nname: "gemma\\n"', "name"),
])
def test_4_a_trailing_newline_does_not_match(run: Run, project: Path, old: str, new: str, path: str) -> None:
    prod = project / "values/prod.yaml"
    prod.write_text(prod.read_text().replace(old, new))
    result = run("render", "prod")
    assert result.exit_code == 2
    assert f"values/prod.yaml::{path} (line" in result.output and "\\n' is not valid" in result.output
    assert not (project / "rendered").exists()


# -- 5. the tree never gets stuck ----------------------------------------------------------------


@pytest.mark.parametrize("leftover", [".rendered.previous", ".rendered.staging", ".argocd.previous",
                                      ".gemma-gitops-0123456789abcdef.rendered.new"])
@pytest.mark.parametrize("kind", ["symlink", "file", "read-only directory"])
def test_5_leftovers_are_cleaned_and_never_block(run: Run, project: Path, tmp_path: Path, leftover: str, kind: str) -> None:
    run("render")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep").write_text("not ours")
    path = project / leftover
    if kind == "symlink":
        path.symlink_to(outside)
    elif kind == "file":
        path.write_text("junk")
    else:
        path.mkdir()
        (path / "junk.yaml").write_text("junk")
        path.chmod(0o555)
    change_namespace(project)
    result = run("render")
    assert result.exit_code == 0, result.output
    assert not os.path.lexists(path)
    assert (outside / "keep").read_text() == "not ours"  # a link is removed, never what it points to
    assert run("check").exit_code == 0


def test_5_a_read_only_leftover_is_removed_by_its_owner(shared_project: Path) -> None:
    """As an owner whom modes bind (root ignores them): a dead run's directory with read-only directories inside."""
    unprivileged = bound_by_modes()
    assert gemma(shared_project, "render", prefix=unprivileged).returncode == 0
    leftover = shared_project / ".gemma-gitops-0123456789abcdef.rendered.old"
    (leftover / "prod/deep").mkdir(parents=True)
    (leftover / "prod/deep/file.yaml").write_text("old")
    (leftover / "prod/deep").chmod(0)
    (leftover / "prod").chmod(0o555)
    result = gemma(shared_project, "check", prefix=unprivileged)
    assert result.returncode == 0, result.stderr
    assert not os.path.lexists(leftover)


def test_5_an_unremovable_leftover_does_not_block(run: Run, project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run("render")
    (project / ".gemma-gitops-0123456789abcdef.rendered.old").mkdir()
    monkeypatch.setattr(tree, "remove", lambda path, missing_ok=False: False)  # as if every removal failed
    change_namespace(project)
    assert run("render").exit_code == 0
    monkeypatch.undo()
    assert run("check").exit_code == 0


@pytest.mark.parametrize("top", ["rendered", "argocd", "docs"])
@pytest.mark.parametrize("kind", ["symlink", "file"])
def test_5_an_output_that_is_a_symlink_or_a_file_is_refused(run: Run, project: Path, tmp_path: Path, top: str, kind: str) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    if kind == "symlink":
        (project / top).symlink_to(outside)
    else:
        (project / top).write_text("a file\n")
    for command in ("render", "check"):
        result = run(command)
        assert result.exit_code == 2
        assert result.output.splitlines()[-1] == (
            f"error: {top} is {'a symlink' if kind == 'symlink' else 'not a directory'}; gemma-gitops writes {top}/ only as "
            f"a real directory in the project (move {project / top} aside, then run again)")
    assert list(outside.iterdir()) == []


# -- 6. writes never escape the project ----------------------------------------------------------


def test_6_a_staging_symlink_out_of_the_project_is_never_written_through(run: Run, project: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (project / ".rendered.staging").symlink_to(outside)
    result = run("render")
    assert result.exit_code == 0
    assert list(outside.iterdir()) == []
    assert not (project / "rendered").is_symlink() and (project / "rendered/prod/deployment-gemma.yaml").is_file()
    assert not os.path.lexists(project / ".rendered.staging")


def test_6_a_symlinked_environment_directory_is_replaced_not_followed(run: Run, project: Path, tmp_path: Path) -> None:
    run("render")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.yaml").write_text("password: hunter2\n")
    shutil.rmtree(project / "rendered/prod")
    (project / "rendered/prod").symlink_to(outside)
    check = run("check")
    assert check.exit_code == 1 and "hunter2" not in check.output  # never read through the link
    assert run("render").exit_code == 0
    assert not (project / "rendered/prod").is_symlink()
    assert [p.name for p in outside.iterdir()] == ["secret.yaml"]


def test_6_the_gitignore_patterns_cover_symlinks_too(tmp_path: Path) -> None:
    shutil.copy(REPO / ".gitignore", tmp_path / ".gitignore")
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    names = [".gemma-gitops.lock", ".gemma-gitops.journal", ".gemma-gitops-0123456789abcdef.rendered.new", ".rendered.staging"]
    for name in names:
        (tmp_path / name).symlink_to("/tmp")
    ignored = subprocess.run(["git", "-C", str(tmp_path), "check-ignore", *names], capture_output=True, text=True, check=False)
    assert ignored.stdout.split() == names


# -- 7. a few bytes cannot take the machine --------------------------------------------------------


def billion_laughs() -> str:
    """Nine levels of ten aliases: 10^9 nodes from under a kilobyte."""
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, 9):
        name, prev = chr(ord("a") + level), chr(ord("a") + level - 1)
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 10) + "]")
    return "\n".join(lines) + "\n"


def test_7_billion_laughs_is_refused_at_once(run: Run, project: Path) -> None:
    text = billion_laughs()
    assert len(text.encode()) < 1024
    (project / "values/prod.yaml").write_text(text)
    started = time.monotonic()
    result = run("render", "prod")
    assert result.exit_code == 2
    assert "more than 100000 nodes once aliases are expanded" in result.output
    assert time.monotonic() - started < 10  # was 57 s and 1.8 GB, then MemoryError; here it is milliseconds


def test_7_a_huge_layer_count_is_refused_by_the_schema(run: Run, project: Path) -> None:
    prod = project / "values/prod.yaml"
    geometry = ("  geometry: {fileSizeBytes: 806500000, nLayer: 1000000000000, nHead: 4, nHeadKv: 1, headDimK: 256, "
                "headDimV: 256, nEmbd: 1152, nFf: 6912, nVocab: 262144, nCtxTrain: 32768, slidingWindow: 512, swaPattern: 6}\n")
    prod.write_text(prod.read_text().replace("  alias: gemma-3-1b-it\n", "  alias: gemma-3-1b-it\n" + geometry))
    for command in ("render", "budget", "check"):
        started = time.monotonic()
        result = run(command, "prod")
        assert result.exit_code == 2
        assert "values/prod.yaml::model.geometry.nLayer (line 11): 1000000000000 is out of range: expected 1 to 4096" in result.output
        assert time.monotonic() - started < 10  # was an endless loop


def test_7_a_long_sliding_window_pattern_is_read_in_one_pass(tmp_path: Path) -> None:
    from gguf import GGUFWriter

    from generator.capacity.gguf_header import read_gguf

    path = tmp_path / "swa.gguf"
    writer = GGUFWriter(str(path), "gemma3")
    for key, value in (("embedding_length", 640), ("attention.head_count", 4), ("block_count", 20000),
                       ("feed_forward_length", 2048), ("context_length", 32768), ("vocab_size", 1000),
                       ("attention.sliding_window", 512)):
        writer.add_uint32(f"gemma3.{key}", value)
    writer.add_array("gemma3.attention.sliding_window_pattern", [True] * 19999 + [False])
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.close()
    started = time.monotonic()
    assert read_gguf(path).geometry.swa_pattern == 20000
    assert time.monotonic() - started < 5  # was 40 s (every period tried, each over every layer)


# -- 8. no traceback, whatever the input -----------------------------------------------------------


@pytest.mark.parametrize(("content", "message"), [
    (b"hostname: caf\xe9\n", "values/prod.yaml: not UTF-8 text (byte 0xe9 on line 1); save it as UTF-8"),
    ("hostname: gemma.example.com\n".encode("utf-16"), "values/prod.yaml: not UTF-8 text (byte 0xff on line 1); save it as UTF-8"),
    (b"hostname: gemma\x00.example.com\n", "values/prod.yaml::line 1, column 16: U+0000 NUL is not allowed in a values file"),
    (b"hostname: gemma\x1b[31m.example.com\n", "values/prod.yaml::line 1, column 16: U+001B ESCAPE is not allowed in a values file"),
    (b"hostname: !!python/name:os.system gemma.example.com\n",
     "values/prod.yaml::line 1, column 11: the tag 'tag:yaml.org,2002:python/name:os.system' is not allowed in values"),
    (b"nodeSelector: !vault {path: x}\n", "values/prod.yaml::line 1, column 15: the tag '!vault' is not allowed in values"),
    (b"nodeSelector: &a {x: *a}\n", "values/prod.yaml::line 1, column 22: alias *a refers to a collection that contains it"),
    (b"nodeSelector: " + b"[" * 10_000 + b"]" * 10_000 + b"\n", "values/prod.yaml::line 1, column 78: nesting deeper than 64 levels"),
    (b'nodeSelector: {a: "\\ud800"}\n', "values/prod.yaml::line 1, column 19: U+D800 (a lone surrogate, not a character) is not allowed in a value"),
    (b"replicas: !!int twelve\n", "values/prod.yaml::line 1, column 11: cannot read this int"),
    (b"model:\n  hfFile: x.gguf\n  geometry: {fileSizeBytes: 1" + b"0" * 400 + b"}\n", "values/prod.yaml::model.geometry.fileSizeBytes (line 3): 1000"),
])
def test_8_bad_values_files_exit_2_in_one_line(run: Run, project: Path, content: bytes, message: str) -> None:
    run("render")
    before = state(project)
    (project / "values/prod.yaml").write_bytes(content)
    result = gemma(project, "render", "prod")
    assert result.returncode == 2, result.stderr
    assert no_traceback(result.stderr)
    assert message in result.stderr, result.stderr
    assert state(project) == before


def _loop(project: Path) -> None:
    (project / "values/prod.yaml").unlink()
    (project / "values/prod.yaml").symlink_to("prod.yaml")


def _dangling(project: Path) -> None:
    (project / "values/prod.yaml").unlink()
    (project / "values/prod.yaml").symlink_to("gone.yaml")


def _directory(project: Path) -> None:
    (project / "values/prod.yaml").unlink()
    (project / "values/prod.yaml").mkdir()


def _schema(text: str) -> Callable[[Path], None]:
    def write(project: Path) -> None:
        (project / "schemas/values.schema.json").write_text(text)

    return write


def _journal_directory(project: Path) -> None:
    (project / tree.JOURNAL).mkdir()


def _lock_directory(project: Path) -> None:
    (project / LOCK_FILE).unlink()
    (project / LOCK_FILE).mkdir()


@pytest.mark.parametrize(("damage", "code", "message"), [
    (_loop, 2, "error: values/prod.yaml: cannot read: Too many levels of symbolic links"),
    (_dangling, 2, "error: values/prod.yaml: cannot read: No such file or directory"),
    (_directory, 2, "error: values/prod.yaml: cannot read: Is a directory"),
    (_journal_directory, 1, "error: .gemma-gitops.journal is damaged or not ours"),
    (_lock_directory, 1, "error: cannot open the project lock "),
], ids=["symlink-loop", "dangling-symlink", "directory", "journal-directory", "lock-directory"])
def test_8_filesystem_states_exit_1_or_2_in_one_line(run: Run, project: Path, damage: Callable[[Path], None], code: int,
                                                      message: str) -> None:
    run("render")
    damage(project)
    before = state(project)
    result = gemma(project, "render", "prod")
    assert result.returncode == code, result.stderr
    assert no_traceback(result.stderr)
    assert result.stderr.splitlines()[0].startswith(message), result.stderr
    assert state(project) == before


@pytest.mark.parametrize("text", ["{not json", "[]", '{"type": 12}'])
def test_8_a_damaged_schema_copy_is_the_tools_to_restore(run: Run, project: Path, text: str) -> None:
    """Values validate against the schema the tool carries; a project's copy is an output, so damage to it is
    drift that `check` reports and `render` repairs, never a schema anyone validates with."""
    run("render")
    _schema(text)(project)
    check = gemma(project, "check")
    assert check.returncode == 1 and no_traceback(check.stderr)
    assert "changed (schemas/values.schema.json)" in check.stdout
    assert gemma(project, "render").returncode == 0
    assert (project / "schemas/values.schema.json").read_bytes() == PACKAGED_SCHEMA.read_bytes()


def test_8_an_unreadable_output_directory(shared_project: Path) -> None:
    assert gemma(shared_project, "render").returncode == 0
    (shared_project / "rendered/prod").chmod(0)
    result = gemma(shared_project, "check", prefix=bound_by_modes())
    assert result.returncode == 1 and no_traceback(result.stderr)
    assert result.stderr.splitlines()[-1] == f"error: cannot read {shared_project}/rendered/prod: Permission denied"


def test_8_an_unreadable_values_file(shared_project: Path) -> None:
    (shared_project / "values/prod.yaml").chmod(0)
    result = gemma(shared_project, "render", "prod", prefix=bound_by_modes())
    assert result.returncode == 2 and no_traceback(result.stderr)
    assert result.stderr.splitlines()[0] == "error: values/prod.yaml: cannot read: Permission denied"


def test_8_an_unreadable_values_directory(shared_project: Path) -> None:
    (shared_project / "values").chmod(0)
    result = gemma(shared_project, "render", prefix=bound_by_modes())
    assert result.returncode == 2 and no_traceback(result.stderr)
    assert result.stderr.splitlines() == ["error: values/: cannot read: Permission denied"]


def test_8_a_values_file_that_is_a_fifo_does_not_hang(run: Run, project: Path) -> None:
    (project / "values/prod.yaml").unlink()
    os.mkfifo(project / "values/prod.yaml")
    result = gemma(project, "render", "prod", timeout=60)
    assert result.returncode == 2 and "values/prod.yaml: not a regular file" in result.stderr


def test_8_a_gguf_with_no_heads(tmp_path: Path) -> None:
    from gguf import GGUFWriter

    path = tmp_path / "zero.gguf"
    writer = GGUFWriter(str(path), "gemma3")
    for key, value in (("embedding_length", 640), ("attention.head_count", 0), ("block_count", 18),
                       ("feed_forward_length", 2048), ("context_length", 32768), ("vocab_size", 1000)):
        writer.add_uint32(f"gemma3.{key}", value)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.close()
    result = gemma(tmp_path, "inspect", str(path))
    assert result.returncode == 2 and no_traceback(result.stderr)
    assert result.stderr.splitlines() == [f"error: {path}: the GGUF header says gemma3.attention.head_count is 0; "
                                          "a model needs at least 1"]


def test_8_an_unexpected_exception_is_one_bug_line_and_exit_3(run: Run, project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object) -> int:
        return 1 // 0

    monkeypatch.setattr(render_stages, "run_render", broken)
    result = run("render")
    assert result.exit_code == 3
    [line] = result.output.splitlines()
    assert line.startswith("internal error: ZeroDivisionError: integer division or modulo by zero (generator/cli/render.py:")
    assert line.endswith("; this is a bug in gemma-gitops, please report it with the command and the values that caused it")
    assert no_traceback(result.output)


# -- 9. secrets are refused ------------------------------------------------------------------------


@pytest.mark.parametrize(("old", "new", "path", "what"), [
    ("repoURL: https://github.com", "repoURL: https://x-access-token:ghp_0123456789abcdefghijABCDEFGHIJ012345@github.com",
     "argocd.repoURL", "a URL with a password in it"),
    ("repoURL: https://github.com", "repoURL: https://ghp_0123456789abcdefghijABCDEFGHIJ012345@github.com",
     "argocd.repoURL", "a URL with credentials in it"),
    ("namespace: default", "namespace: default\nnodeSelector: {aws: AKIAQWERTYUIOPASDFGH}", "nodeSelector.aws", "an AWS access key ID"),
    ("namespace: default", "namespace: default\nnodeSelector: {t: github_pat_0123456789abcdefghijKL}", "nodeSelector.t", "a GitHub token"),
    ("namespace: default", 'namespace: default\nnodeSelector: {k: "-----BEGIN RSA PRIVATE KEY-----"}', "nodeSelector.k", "a private key"),
    ("namespace: default", "namespace: default\nnodeSelector: {k: xoxb-1234567890-abcdefghij}", "nodeSelector.k", "a Slack token"),
    ("namespace: default", "namespace: default\nnodeSelector: {k: glpat-abcdefghij0123456789}", "nodeSelector.k", "a GitLab token"),
    ("namespace: default", "namespace: default\nnodeSelector: {k: sk-proj-abcdefghij0123456789KLMN}", "nodeSelector.k",
     "an OpenAI or Anthropic API key"),
    ("namespace: default", "namespace: default\nnodeSelector: {k: AIzaSyA0123456789abcdefghijklmnopqrstuv}", "nodeSelector.k",
     "a Google API key"),
    ("namespace: default", "namespace: default\nnodeSelector: {k: Zx9Qw2Er7Ty4Ui1Op8As5Df3Gh}", "nodeSelector.k",
     "a random token (a key or password?) in a free-form field"),
])
def test_9_a_credential_in_values_is_refused_without_echoing_it(run: Run, project: Path, old: str, new: str, path: str,
                                                                 what: str) -> None:
    prod = project / "values/prod.yaml"
    prod.write_text(prod.read_text().replace(old, new, 1))
    secret = new.split(": ", 1)[1].split("@")[0].split(": ")[-1].strip("{}\"")
    result = run("render", "prod")
    assert result.exit_code == 2, result.output
    assert f"values/prod.yaml::{path} (line " in result.output and f"the value looks like {what}" in result.output
    assert secret not in result.output and "hunter" not in result.output
    assert not (project / "rendered").exists()


def test_9_a_secret_in_an_overridden_lower_layer_is_refused_too(run: Run, project: Path) -> None:
    (project / "values/_shared.yaml").write_text("nodeSelector: {token: ghp_0123456789abcdefghijABCDEFGHIJ012345}\n")
    result = run("render", "prod")  # prod does not set nodeSelector; staging neither: both inherit it
    assert result.exit_code == 2
    assert "values/_shared.yaml::nodeSelector.token (line 1): the value looks like a GitHub token" in result.output


def test_9_ssh_urls_and_the_shipped_values_pass(run: Run, project: Path) -> None:
    prod = project / "values/prod.yaml"
    prod.write_text(prod.read_text().replace("repoURL: https://github.com/example/gemma-gitops.git",
                                             "repoURL: git@github.com:example/gemma-gitops.git"))
    assert run("render").exit_code == 0


def test_9_a_schema_error_at_a_secret_does_not_show_it(run: Run, project: Path) -> None:
    prod = project / "values/prod.yaml"
    prod.write_text(prod.read_text().replace("hostname: gemma.example.com", "hostname: {token: ghp_0123456789abcdefghijABCDEFGHIJ012345}"))
    result = run("render", "prod")
    assert result.exit_code == 2 and "ghp_" not in result.output
    assert "values/prod.yaml::hostname.token (line 4): the value looks like a GitHub token" in result.output


# -- 10. what the API server or the processes would refuse ------------------------------------------


@pytest.mark.parametrize(("changes", "rule", "path"), [
    ({"llama__resources": {"requests": {"cpu": "3", "memory": "2Gi"}, "limits": {"cpu": "2", "memory": "4Gi"}}},
     "requests-within-limits", "llama.resources.requests.cpu"),
    ({"proxy__resources": {"requests": {"cpu": "10m", "memory": "128Mi"}, "limits": {"cpu": "50m", "memory": "64Mi"}}},
     "requests-within-limits", "proxy.resources.requests.memory"),
    ({"autoscaling": {"enabled": True, "minReplicas": 5, "maxReplicas": 2}}, "autoscaling-range", "autoscaling.minReplicas"),
    ({"proxy__port": 8000}, "distinct-ports", "proxy.port"),
    ({"model__hfFile": "big.gguf", "llama__startup": {"minDownloadMiBps": 0.1, "loadSeconds": 60, "probePeriodSeconds": 1},
      "model__geometry": {"fileSizeBytes": 2**50, "nLayer": 26, "nHead": 4, "nHeadKv": 1, "headDimK": 256, "headDimV": 256,
                          "nEmbd": 1152, "nFf": 6912, "nVocab": 262144, "nCtxTrain": 32768, "slidingWindow": 512, "swaPattern": 6}},
     "startup-window", "llama.startup.minDownloadMiBps"),
])
def test_10_what_kubernetes_would_refuse_is_a_guard_error(changes: dict[str, Any], rule: str, path: str) -> None:
    found = [p for p in guards.run(plan_for("prod", **changes)) if p.is_error and p.rule == rule]
    assert [p.path for p in found][:1] == [path]


def test_10_the_guards_stop_the_render_with_exit_1(run: Run, project: Path) -> None:
    append_prod(project, "autoscaling: {enabled: true, minReplicas: 5, maxReplicas: 2}\nproxy: {port: 8000}\n")
    result = run("render", "prod")
    assert result.exit_code == 1
    assert ("  values/prod.yaml::autoscaling.minReplicas: minReplicas 5 is above maxReplicas 2; the API server refuses "
            "the HorizontalPodAutoscaler (autoscaling-range)") in result.output.splitlines()
    assert any(line.endswith("(distinct-ports)") for line in result.output.splitlines())
    assert not (project / "rendered").exists()


def test_10_a_vanishing_bandwidth_is_refused(run: Run, project: Path) -> None:
    prod = project / "values/prod.yaml"
    prod.write_text(prod.read_text().replace("  batchSize: 512\n", "  batchSize: 512\n  startup: {minDownloadMiBps: 1.0e-300}\n"))
    result = run("render", "prod")
    assert result.exit_code == 2
    assert "values/prod.yaml::llama.startup.minDownloadMiBps (line 17): 1e-300 is out of range: expected 0.1 to 10000" in result.output


def test_10_nan_and_infinity_are_not_numbers(run: Run, project: Path) -> None:
    prod = project / "values/prod.yaml"
    prod.write_text(prod.read_text().replace("  batchSize: 512\n", "  batchSize: 512\n  startup: {minDownloadMiBps: .nan}\n"))
    result = run("render", "prod")
    assert result.exit_code == 2 and "nan is not of type 'number'" in result.output


# -- 11. smaller -----------------------------------------------------------------------------------


def test_11_a_values_symlink_out_of_the_project_is_not_read(run: Run, project: Path, tmp_path: Path) -> None:
    secret = tmp_path / "credentials.yaml"
    secret.write_text("hostname: hunter2-the-password\npassword: hunter2\n")
    (project / "values/prod.yaml").unlink()
    (project / "values/prod.yaml").symlink_to(secret)
    result = run("render", "prod")
    assert result.exit_code == 2
    assert "hunter2" not in result.output
    assert result.output.splitlines()[0] == ("error: values/prod.yaml: a symlink to a file outside values/; values files are "
                                             "read only from values/ (copy the file in instead)")


def test_11_a_symlink_inside_values_is_read(run: Run, project: Path) -> None:
    (project / "values/teams").mkdir()
    (project / "values/teams/qa.yaml").write_text(
        (project / "values/staging.yaml").read_text().replace("namespace: gemma-staging", "namespace: gemma-qa"))
    (project / "values/qa.yaml").symlink_to("teams/qa.yaml")
    result = run("render", "qa")
    assert result.exit_code == 0, result.output
    assert "namespace: gemma-qa" in (project / "rendered/qa/service-gemma.yaml").read_text()


def test_11_nel_is_refused_not_turned_into_a_space(run: Run, project: Path) -> None:
    (project / "values/prod.yaml").write_text("hostname: gemma.example.com\nnodeSelector:\n  team: a\x85b\n" + VALID_TAIL)
    result = run("render", "prod")
    assert result.exit_code == 2
    assert "values/prod.yaml::line 3, column 10: U+0085 NEXT LINE (NEL) is not allowed in a values file" in result.output


@pytest.mark.parametrize("environ", [{"PYTHONIOENCODING": "latin-1"}, {"PYTHONIOENCODING": "ascii", "LC_ALL": "C"}])
def test_11_an_encoding_that_cannot_show_the_output_is_escaped(project: Path, environ: dict[str, str]) -> None:
    result = gemma(project, "render", env=environ)
    assert result.returncode == 0, result.stderr
    assert no_traceback(result.stderr)
    assert any(line.startswith("rendered values/prod.yaml ") and "rendered/prod/" in line for line in result.stdout.splitlines())
    assert gemma(project, "check", env=environ).returncode == 0


def test_11_a_hand_written_application_is_not_overwritten(run: Run, project: Path) -> None:
    run("render")
    mine = "# my own Application, not generated\napiVersion: argoproj.io/v1alpha1\nkind: Application\n"
    (project / "argocd/prod.yaml").write_text(mine)
    before = outputs(project)
    for command in ("render", "check"):
        result = run(command)
        assert result.exit_code == 2
        assert result.output.splitlines()[-1] == (
            "error: argocd/prod.yaml: not written by gemma-gitops (the first line has no 'Generated by gemma-gitops'), "
            "and a render would replace it; move it aside, then run again")
    assert outputs(project) == before


def test_11_an_environment_name_is_at_most_63_characters(run: Run, project: Path) -> None:
    name = "e" * 64
    shutil.copy(project / "values/staging.yaml", project / f"values/{name}.yaml")
    result = run("render", name)
    assert result.exit_code == 2
    assert f"environment name '{name}' must be a lowercase RFC 1123 label of at most 63 characters" in result.output
