"""A fresh clone, with nothing beside it and no network, passes `make check` and reads nothing outside itself.

The committed HEAD of this repository is cloned into an empty temporary directory. The clone gets a
working .venv without the network (see `bootstrap_venv`), then `make check` (what CI and the
pre-commit hook run) runs there with the network blocked, under `strace -f`. The run fails if
`make check` fails, if any file outside the clone, the Python installation, this test run's venv
site-packages (the dependencies) and the system directories was opened, if anything beside the
clone or in or beside this checkout was even looked at (a failed lookup of a sibling folder included),
or if any process tried to connect to an IP address. The terminal summary names what was read.

Needs git, make and strace (Debian: `apt-get install strace`; .ci/run installs it). Without strace
only the offline `make check` runs and the read check skips; GEMMA_GITOPS_REQUIRE_FRESH_CLONE=1 (CI)
makes it fail instead.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
import sysconfig
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import pytest

from tests.fresh_clone.conftest import REPORT
from tests.fresh_clone.trace import Trace, Verdict, judge, parse, within

REPO = Path(__file__).resolve().parents[2]
REQUIRE_ENV = "GEMMA_GITOPS_REQUIRE_FRESH_CLONE"
SYSTEM_DIRS = ("/usr", "/lib", "/lib64", "/bin", "/sbin", "/etc", "/proc", "/sys", "/dev")
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
BLOCKED_PROXY = "http://127.0.0.1:9"  # the discard port: nothing listens, every proxied request is refused
MAKE_TIMEOUT_SECONDS = 600
# Kinds the committed environments render, whose schemas must come from the clone's vendored copy.
RENDERED_CRDS = ("argoproj.io/application_v1alpha1.json", "cert-manager.io/certificate_v1.json",
                 "external-secrets.io/externalsecret_v1.json", "gateway.envoyproxy.io/backendtrafficpolicy_v1alpha1.json",
                 "gateway.networking.k8s.io/httproute_v1.json", "gateway.networking.k8s.io/referencegrant_v1.json")


@dataclass(frozen=True)
class Network:
    """How the network is kept away from `make check`."""

    prefix: tuple[str, ...]  # command prefix (unshare ...), or empty
    env: dict[str, str]  # proxy variables, or empty
    how: str


@dataclass(frozen=True)
class FreshRun:
    """The clone, and what its `make check` did."""

    clone: Path
    scratch: Path  # the run's own HOME and TMPDIR, empty at start
    commit: str
    network: Network
    code: int
    output: str
    seconds: float
    bootstrap_seconds: float
    trace: Trace | None  # None without strace


def skip_or_fail(message: str) -> NoReturn:
    """Skip, or fail under GEMMA_GITOPS_REQUIRE_FRESH_CLONE=1: CI must never pass by skipping."""
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{message} ({REQUIRE_ENV}=1)", pytrace=False)
    pytest.skip(message)


def run(command: list[str]) -> subprocess.CompletedProcess[str]:
    """A setup command that must work; its output is shown when it does not."""
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.fail(f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout}{done.stderr}", pytrace=False)
    return done


def clone_head(into: Path) -> str:
    """`git clone` this repository's committed HEAD into `into`; returns the commit."""
    commit = run(["git", "-C", str(REPO), "rev-parse", "HEAD"]).stdout.strip()
    run(["git", "clone", "--quiet", "--no-checkout", str(REPO), str(into)])
    run(["git", "-C", str(into), "checkout", "--quiet", "--detach", commit])
    return commit


def dependency_dirs() -> list[str]:
    """This test run's site-packages (purelib and platlib): where the clone's dependencies come from."""
    paths = sysconfig.get_paths()
    return list(dict.fromkeys(os.path.realpath(paths[key]) for key in ("purelib", "platlib")))


def bootstrap_venv(clone: Path) -> None:
    """A working .venv in the clone, made without the network, so `make check` does not install anything.

    `pip install --no-deps --no-index --no-build-isolation -e .` cannot work offline here: the project
    builds with setuptools>=68, which a venv made by `make` lacks (pip fetches it into an isolated build
    environment, online). So this does what that editable install does: a real venv, a .pth that puts
    the clone on sys.path (its `generator`, never this checkout's) and this run's site-packages after
    it (the dependencies, already installed), and the console scripts of [project.scripts] as pip
    writes them. The stamps are then touched, so make sees .venv as up to date.
    """
    venv = clone / ".venv"
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python = venv / "bin" / "python"
    purelib = run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip()
    Path(purelib, "_gemma_gitops_fresh_clone.pth").write_text("\n".join([str(clone), *dependency_dirs()]) + "\n")
    scripts = tomllib.loads((clone / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    for name, target in scripts.items():
        module, function = target.split(":")
        script = venv / "bin" / name
        script.write_text(f"#!{python}\nimport sys\nfrom {module} import {function}\nsys.exit({function}())\n")
        script.chmod(0o755)
    for stamp in (venv / ".installed", venv / ".installed-test"):
        stamp.touch()  # after the checkout wrote pyproject.toml: make's prerequisite is not newer


def works(command: list[str]) -> bool:
    """Whether a probe command succeeds."""
    return subprocess.run(command, capture_output=True).returncode == 0


def network_blocker() -> Network:
    """A private network namespace where the machine allows one (as root, or with user namespaces), else a blocked proxy."""
    for prefix in (("unshare", "--net"), ("unshare", "--map-root-user", "--net")):
        if shutil.which("unshare") and works([*prefix, "true"]):
            return Network(prefix, {}, f"a private network namespace ({' '.join(prefix)}: only a loopback, down)")
    proxies = {name: BLOCKED_PROXY for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")}
    return Network((), {**proxies, "no_proxy": "", "NO_PROXY": ""},
                   f"a blocked proxy ({BLOCKED_PROXY}): this machine cannot make a network namespace; the trace "
                   "still fails the test on any connection to an IP address")


def strace_prefix(log: Path) -> list[str] | None:
    """`strace -f` logging every path syscall and connect() with fd paths (-y), or None without strace."""
    strace = shutil.which("strace")
    if strace is None:
        return None
    command = [strace, "-f", "-qq", "-y", "-s", "4096", "-e", "trace=%file,connect", "-e", "signal=none", "-o", str(log)]
    # --seccomp-bpf stops the tracee only on traced syscalls: several times faster where the kernel has it.
    fast = works([strace, "--seccomp-bpf", "-f", "-qq", "-o", os.devnull, "true"])
    return [*command, "--seccomp-bpf"] if fast else command


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FreshRun]:
    """Clone, bootstrap, and run `make check` offline (under strace when it is installed)."""
    for tool in ("git", "make"):
        if shutil.which(tool) is None:
            skip_or_fail(f"{tool} is not installed; the fresh-clone test needs git and make")
    alone = tmp_path_factory.mktemp("fresh-clone") / "empty"  # holds the clone and nothing else
    scratch = tmp_path_factory.mktemp("fresh-clone-scratch")
    for directory in (alone, scratch / "home", scratch / "tmp"):
        directory.mkdir(parents=True)
    started = time.monotonic()
    clone = alone / "gemma-gitops"
    commit = clone_head(clone)
    bootstrap_venv(clone)
    bootstrapped = time.monotonic()
    network = network_blocker()
    log = scratch / "strace.log"
    tracer = strace_prefix(log) or []
    env = {"PATH": PATH, "HOME": str(scratch / "home"), "TMPDIR": str(scratch / "tmp"),
           "XDG_CACHE_HOME": str(scratch / "home" / ".cache"), "LANG": "C.UTF-8", **network.env}
    done = subprocess.run([*network.prefix, *tracer, "make", "check"], cwd=clone, env=env, capture_output=True,
                          text=True, timeout=MAKE_TIMEOUT_SECONDS)
    finished = time.monotonic()
    trace = parse(log.read_text(encoding="utf-8", errors="replace").splitlines(), str(clone)) if tracer else None
    yield FreshRun(clone, scratch, commit, network, done.returncode, done.stdout + done.stderr,
                   finished - bootstrapped, bootstrapped - started, trace)
    shutil.rmtree(alone.parent, ignore_errors=True)
    shutil.rmtree(scratch, ignore_errors=True)


def allowed_roots(fresh: FreshRun) -> dict[str, list[str]]:
    """Where the run may open files, by the label the summary uses; first match wins."""
    return {
        "the clone": [str(fresh.clone)],
        f"Python {platform.python_version()} ({sys.base_prefix})": [os.path.realpath(sys.base_prefix)],
        "the test venv's site-packages (dependencies)": dependency_dirs(),
        "system directories": list(SYSTEM_DIRS),
        "the run's own HOME and TMPDIR": [str(fresh.scratch)],
    }


def verdict(fresh: FreshRun) -> Verdict:
    """The trace judged: beside the clone, and in or beside this checkout, nothing may even be looked at."""
    assert fresh.trace is not None
    forbidden = [str(fresh.clone.parent), str(REPO.parent)]
    return judge(fresh.trace, allowed_roots(fresh), forbidden, exceptions=[str(fresh.clone), *dependency_dirs()])


def test_make_check_passes_in_a_fresh_clone_without_network(fresh: FreshRun) -> None:
    REPORT.append(f"commit {fresh.commit[:12]} cloned into {fresh.clone} (nothing beside it), .venv made offline "
                  f"in {fresh.bootstrap_seconds:.1f} s; network blocked by {fresh.network.how}")
    REPORT.append(f"make check: exit {fresh.code} in {fresh.seconds:.1f} s"
                  + (" under strace -f" if fresh.trace is not None else " (strace not installed: reads not checked)"))
    assert fresh.code == 0, f"make check failed in a fresh clone without network ({fresh.network.how}):\n{fresh.output[-6000:]}"
    assert "in sync:" in fresh.output and "Invalid: 0, Errors: 0, Skipped: 0" in fresh.output, fresh.output[-3000:]


def test_make_check_opens_nothing_outside_the_clone(fresh: FreshRun) -> None:
    if fresh.trace is None:
        skip_or_fail("strace is not installed (Debian/Ubuntu: apt-get install strace): cannot see what make check read")
    judged = verdict(fresh)
    REPORT.append(f"opened {sum(judged.counts.values())} files: "
                  + ", ".join(f"{label} {count}" for label, count in judged.counts.items()))
    REPORT.append(f"opened outside those: {len(judged.outside)}; touched beside the clone or in/beside {REPO}: "
                  f"{len(judged.forbidden)}; connections to IP addresses: {len(judged.connections)}")
    problems = [*(f"opened outside the allowed places: {p}" for p in judged.outside),
                *(f"looked at beside the clone or in/beside this checkout: {p}" for p in judged.forbidden),
                *(f"tried to connect to {address}" for address in judged.connections)]
    assert not problems, "\n".join(problems[:50]) + (f"\n... and {len(problems) - 50} more" if len(problems) > 50 else "")


def test_the_clone_ran_its_own_generator_and_vendored_schemas(fresh: FreshRun) -> None:
    """Guards the check above against passing vacuously: the clone's code and schemas were what ran."""
    if fresh.trace is None:
        skip_or_fail("strace is not installed (Debian/Ubuntu: apt-get install strace): cannot see what make check read")
    opened = {a.path for a in fresh.trace.accesses if a.opened}
    generator = fresh.clone / "generator"
    assert any(within(p, str(generator)) and p.endswith((".py", ".pyc")) for p in opened), "the clone's generator was not imported"
    crds = generator / "schemas" / "crds"
    missing = [kind for kind in RENDERED_CRDS if str(crds / kind) not in opened]
    assert not missing, f"these schemas were not read from the clone's vendored copy: {missing}"
