"""Run the rendered auth proxy in a real nginx: the ConfigMap's own nginx.conf and auth.lua, laid out
under a temporary prefix exactly as the pod mounts them (conf/, secrets/, run/).

The one difference from production is the module-loading preamble (`LUA_PREAMBLE`): OpenResty has
the Lua module built in, Debian's nginx loads it dynamically. It lives only in the wrapper main
configuration written here, which loads the modules and then includes the rendered nginx.conf.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from generator.plan import build_plan
from generator.render import API_KEY_FILE, PROXY_CONF_DIR, PROXY_RUN_DIR, PROXY_SECRET_DIR, render_plan
from generator.settings import SCHEMA_FILE, Settings
from generator.values import load_environment, load_schema

PROJECT_ROOT = Path(__file__).resolve().parents[1]
INSTALL_HINT = "install it with: sudo scripts/install-nginx-lua.sh"
ACCESS_LOG_FLUSH_SECONDS = 1  # `flush=1s` on the rendered access_log
REQUIRE_ENV = "GEMMA_GITOPS_REQUIRE_NGINX"
POD_UID = 10001  # the Deployment's runAsUser/runAsGroup/fsGroup
DEBIAN_MODULES = Path("/usr/lib/nginx/modules")
OPENRESTY = Path("/usr/local/openresty/bin/openresty")

# Debian only: what OpenResty has built in. Absolute paths, so it works whatever the prefix.
LUA_PREAMBLE = f"""\
# Test harness only. Debian's nginx loads the Lua module (and NDK, which it needs) dynamically;
# the production OpenResty image has both built in, so the rendered nginx.conf has no such lines.
load_module {DEBIAN_MODULES}/ndk_http_module.so;
load_module {DEBIAN_MODULES}/ngx_http_lua_module.so;
"""


@dataclass(frozen=True)
class Runtime:
    """An nginx binary able to run the proxy, and the preamble it needs (empty for OpenResty)."""

    binary: str
    preamble: str


def find_runtime() -> Runtime | None:
    """OpenResty if installed (the production binary), else Debian's nginx with its Lua module."""
    if OPENRESTY.is_file():
        return Runtime(str(OPENRESTY), "")
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").is_file() else None)
    modules = [DEBIAN_MODULES / "ndk_http_module.so", DEBIAN_MODULES / "ngx_http_lua_module.so"]
    cjson = any(Path("/usr/lib").glob("*/lua/5.1/cjson.so"))  # Debian's lua-cjson (OpenResty bundles it)
    if nginx and all(m.is_file() for m in modules) and Path("/usr/share/lua/5.1/resty/core.lua").is_file() and cjson:
        return Runtime(nginx, LUA_PREAMBLE)
    return None


def free_port() -> int:
    """A TCP port nothing listens on right now (the proxy listens on every interface, as in the pod)."""
    with socket.socket() as s:
        s.bind(("", 0))
        return int(s.getsockname()[1])


# -- rendering ---------------------------------------------------------------------------------


def render_proxy_files(project: Path, values: dict[str, Any], env: str = "test") -> dict[str, str]:
    """The `gemma-proxy` ConfigMap's data for `values`, rendered by the spine in a scratch project."""
    (project / "schemas").mkdir(parents=True, exist_ok=True)
    shutil.copy(PROJECT_ROOT / SCHEMA_FILE, project / SCHEMA_FILE)
    (project / "values").mkdir(exist_ok=True)
    (project / "values" / f"{env}.yaml").write_text(yaml.safe_dump(values), encoding="utf-8")
    return configmap_data(Settings(root=project), env)


def configmap_data(settings: Settings, env: str) -> dict[str, str]:
    """Render one environment of a project and return the proxy ConfigMap's data."""
    plan = build_plan(load_environment(env, settings, load_schema(settings)))
    for item in render_plan(plan):
        if item.identity.kind == "ConfigMap" and item.identity.name.endswith("-proxy"):
            return dict(item.doc["data"])
    raise AssertionError(f"no proxy ConfigMap rendered for {env}")


def values_for(proxy_port: int, upstream_port: int, proxy: dict[str, Any] | None = None,
               metrics_port: int | None = None, metrics: dict[str, Any] | None = None) -> dict[str, Any]:
    """Minimal valid values: the proxy on `proxy_port` (its metrics on `metrics_port`, else the default) in
    front of an upstream on `upstream_port`; `proxy` and `metrics` add to their blocks."""
    return {
        "hostname": "proxy-test.example.com",
        "argocd": {"repoURL": "https://example.invalid/gemma-gitops.git"},
        "llama": {"port": upstream_port},
        "proxy": {"port": proxy_port, **(proxy or {})},
        "metrics": {**({"port": metrics_port} if metrics_port else {}), **(metrics or {})},
    }


# -- the secret volume -------------------------------------------------------------------------


class KeyVolume:
    """The Secret volume as the kubelet lays it out: `api-key` -> `..data/api-key`, `..data` -> a
    timestamped directory, swapped atomically by renaming a new `..data` symlink over the old one."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._generation = 0

    @property
    def path(self) -> Path:
        return self.directory / API_KEY_FILE

    def write(self, text: str) -> None:
        """Publish new contents the way the kubelet's atomic writer does."""
        self._generation += 1
        fresh = self.directory / f"..2026_01_01_00_00_{self._generation:02d}.{os.getpid()}"
        fresh.mkdir()
        (fresh / API_KEY_FILE).write_text(text, encoding="utf-8")
        _own(fresh / API_KEY_FILE, mode=0o440)  # defaultMode 0440, group fsGroup
        _own(fresh, mode=0o755)
        old = os.readlink(self.directory / "..data") if (self.directory / "..data").is_symlink() else None
        (self.directory / "..data_tmp").symlink_to(fresh.name)
        os.replace(self.directory / "..data_tmp", self.directory / "..data")
        if not self.path.is_symlink():
            self.path.symlink_to(f"..data/{API_KEY_FILE}")
        if old:
            shutil.rmtree(self.directory / old)

    def remove(self) -> None:
        """Take the key file away entirely."""
        self.path.unlink()


def _own(path: Path, mode: int) -> None:
    """As root, give a secret the pod's ownership (root:fsGroup); as anyone, set its mode."""
    if os.geteuid() == 0:
        os.chown(path, 0, POD_UID)
    path.chmod(mode)


# -- the running proxy -------------------------------------------------------------------------


@dataclass
class Proxy:
    """A running nginx serving the rendered proxy configuration."""

    port: int
    prefix: Path
    process: subprocess.Popen[bytes]
    access_log: Path
    error_log: Path
    keys: KeyVolume
    files: dict[str, str]
    metrics_port: int | None = None  # the metrics server's, when the rendered files have one

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def read_access_log(self) -> str:
        # The rendered access log is buffered and flushed every second (one write per request
        # would cost a tenth of the proxy's CPU): wait for the flush before reading it.
        time.sleep(ACCESS_LOG_FLUSH_SECONDS + 0.3)
        return self.access_log.read_text(encoding="utf-8", errors="replace")

    def read_error_log(self) -> str:
        return self.error_log.read_text(encoding="utf-8", errors="replace")

    def settled_error_log(self, timeout: float = 10.0) -> str:
        """The error log once every worker has logged its key state at start (a line each), so that
        a test comparing it before and after sees only what the test caused."""
        match = re.search(r"^worker_processes (\d+);", self.files.get("nginx.conf", ""), re.MULTILINE)
        workers = int(match.group(1)) if match else 1
        deadline = time.monotonic() + timeout
        while (log := self.read_error_log()).count("auth: ") < workers:
            if time.monotonic() > deadline:
                raise AssertionError(f"the workers did not log their key state within {timeout}s:\n{log}")
            time.sleep(0.02)
        return log

    def pids(self) -> list[int]:
        """The master and its workers."""
        workers = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # the process ended while we looked
            if int(fields[1]) == self.process.pid:
                workers.append(int(stat.parent.name))
        return [self.process.pid, *sorted(workers)]


def lay_out_prefix(prefix: Path, files: dict[str, str]) -> None:
    """conf/ (the ConfigMap), secrets/ (the Secret volume, filled by KeyVolume) and run/ (emptyDir).

    As root, only run/ is writable by the pod's uid, as on the read-only root filesystem."""
    conf = prefix / PROXY_CONF_DIR
    conf.mkdir(parents=True)
    for name, text in files.items():
        (conf / name).write_text(text, encoding="utf-8")
    (prefix / PROXY_SECRET_DIR).mkdir()
    run = prefix / PROXY_RUN_DIR
    run.mkdir()
    if os.geteuid() == 0:
        os.chown(run, POD_UID, POD_UID)


def _command(runtime: Runtime, prefix: Path, harness_dir: Path) -> list[str]:
    """The production command line; on Debian, -c points at the wrapper that adds the preamble."""
    config = f"{PROXY_CONF_DIR}/nginx.conf"
    if runtime.preamble:
        wrapper = harness_dir / "main.conf"
        wrapper.write_text(f"{runtime.preamble}include {prefix / config};\n", encoding="utf-8")
        config = str(wrapper)
    return [runtime.binary, "-p", f"{prefix}/", "-c", config, "-e", "stderr"]


def _as_pod_user() -> dict[str, Any]:
    """Popen arguments that run nginx as the pod's non-root uid when the tests run as root."""
    if os.geteuid() != 0:
        return {}
    return {"user": POD_UID, "group": POD_UID, "extra_groups": []}


def wait_until_listening(proxy: Proxy, timeout: float = 10.0) -> None:
    """Return once nginx accepts connections; fail with its error log if it exits or never does."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proxy.process.poll() is not None:
            raise RuntimeError(f"nginx exited with {proxy.process.returncode}:\n{proxy.read_error_log()}")
        try:
            with socket.create_connection(("127.0.0.1", proxy.port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"nginx did not listen on {proxy.port} within {timeout}s:\n{proxy.read_error_log()}")


def stop(proxy: Proxy) -> None:
    """Stop nginx and its workers (its own process group), waiting for them to exit."""
    if proxy.process.poll() is None:
        os.killpg(proxy.process.pid, signal.SIGTERM)
        try:
            proxy.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(proxy.process.pid, signal.SIGKILL)
            proxy.process.wait(timeout=5)


@contextmanager
def scratch_dir() -> Iterator[Path]:
    """A directory the pod's uid can traverse (pytest's tmp_path sits under a 0700 directory)."""
    path = Path(tempfile.mkdtemp(prefix="gemma-proxy-"))
    try:
        path.chmod(0o755)
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@contextmanager
def running_proxy(runtime: Runtime, upstream_port: int, proxy_values: dict[str, Any] | None = None,
                  key_text: str | None = None,
                  adapt: Callable[[dict[str, str], int, int], dict[str, str]] | None = None,
                  metrics: dict[str, Any] | None = None) -> Iterator[Proxy]:
    """Render, lay out and start the proxy; `key_text` None starts it with no key file at all; `metrics`
    adds to the values' metrics block (its port is a free one).

    `adapt(files, port, metrics_port)` may change the rendered files before they are laid out (the
    benchmark binds them to loopback); the tests never pass it, so they run the rendered files as they are.
    """
    with scratch_dir() as scratch:
        for attempt in range(3):  # a free port can be taken between choosing and binding it
            port, metrics_port = free_port(), free_port()
            values = values_for(port, upstream_port, proxy_values, metrics_port, metrics)
            files = render_proxy_files(scratch / f"project{attempt}", values)
            serves_metrics = f"listen {metrics_port};" in files["nginx.conf"]
            files = adapt(files, port, metrics_port) if adapt else files
            prefix = scratch / f"prefix{attempt}"
            lay_out_prefix(prefix, files)
            keys = KeyVolume(prefix / PROXY_SECRET_DIR)
            if key_text is not None:
                keys.write(key_text)
            proxy = _start(runtime, prefix, scratch, port, keys, files)
            proxy.metrics_port = metrics_port if serves_metrics else None
            try:
                wait_until_listening(proxy)
            except RuntimeError:
                stop(proxy)
                if "Address already in use" in proxy.read_error_log() and attempt < 2:
                    continue
                raise
            try:
                yield proxy
            finally:
                stop(proxy)
            return


@contextmanager
def started_nginx(runtime: Runtime, scratch: Path, files: dict[str, str], port: int) -> Iterator[Proxy]:
    """Lay out and start nginx on files of the test's own (e.g. a test-only nginx.conf beside the
    rendered auth.lua), listening on `port`; stopped on exit."""
    prefix = scratch / f"prefix-{port}"
    lay_out_prefix(prefix, files)
    proxy = _start(runtime, prefix, scratch, port, KeyVolume(prefix / PROXY_SECRET_DIR), files)
    try:
        wait_until_listening(proxy)
        yield proxy
    finally:
        stop(proxy)


def _log_files(directory: Path, name: str) -> tuple[Path, Path]:
    """Files for nginx's stdout (access log) and stderr (error log), owned by the pod's uid as root.

    nginx opens /dev/stdout anew as its own uid; in the pod that works because runc hands a
    container's stdio to its user (fixStdioPermissions), so the harness does the same."""
    logs = directory / f"{name}.access.log", directory / f"{name}.error.log"
    for log in logs:
        log.touch()
        if os.geteuid() == 0:
            os.chown(log, POD_UID, POD_UID)
    return logs


def _start(runtime: Runtime, prefix: Path, scratch: Path, port: int, keys: KeyVolume, files: dict[str, str]) -> Proxy:
    """Start nginx in its own process group, stdout (access log) and stderr (error log) to files."""
    access_log, error_log = _log_files(scratch, prefix.name)
    with open(access_log, "ab") as out, open(error_log, "ab") as err:
        process = subprocess.Popen(_command(runtime, prefix, scratch), stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                   cwd=scratch, start_new_session=True, **_as_pod_user())
    return Proxy(port, prefix, process, access_log, error_log, keys, files)


def check_config(runtime: Runtime, files: dict[str, str]) -> tuple[int, str]:
    """`nginx -t` on rendered files: its exit code and output (the configuration parses, every module
    it names is there, every file it opens can be opened as the pod's user)."""
    with scratch_dir() as scratch:
        prefix = scratch / "prefix"
        lay_out_prefix(prefix, files)
        KeyVolume(prefix / PROXY_SECRET_DIR).write("k" * 32 + "\n")
        access_log, error_log = _log_files(scratch, "check")
        with open(access_log, "ab") as out, open(error_log, "ab") as err:
            code = subprocess.run([*_command(runtime, prefix, scratch), "-t"], stdout=out, stderr=err,
                                  stdin=subprocess.DEVNULL, timeout=30, cwd=scratch, **_as_pod_user()).returncode
        return code, error_log.read_text(encoding="utf-8", errors="replace")


def error_json(body: bytes) -> dict[str, Any]:
    """The `error` object of an OpenAI-style error body."""
    return dict(json.loads(body)["error"])
