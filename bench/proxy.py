"""Auth proxy benchmarks: the rendered nginx.conf and auth.lua in a real nginx, on 127.0.0.1 only.

The proxy is laid out and started by the test harness (testkit/nginx.py), with one
change to the rendered file: `listen <port>;` becomes `listen 127.0.0.1:<port>;`, so nothing here
listens beyond loopback. Two proxies are measured side by side in one run: "after", this tree's,
with its fairness limits (requests in flight per key and in all, failed authentications per
address) raised out of the way of a load generator, and "before", the proxy as it was before
issue 21 (BEFORE_REF), rendered by that commit's own generator. The worst-case memory under the
connection limit comes from testkit/proxy_memory.py (the production defaults), in a private
network namespace when run as root. The upstream is bench/upstream.py in its own process; every
loop is bounded in count and in time.
"""

from __future__ import annotations

import json
import os
import re
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.project import REPO
from bench.stats import Summary, percentile, summarize
from generator.settings import Settings as GeneratorSettings
from generator.values import load_schema, schema_defaults
from testkit import nginx as nginx_harness
from testkit.nginx import (
    Proxy,
    Runtime,
    find_runtime,
)

HOST = "127.0.0.1"
KEY = "sk-bench-0123456789abcdef0123456789abcdef"
WRONG_KEY = "sk-bench-fedcba9876543210fedcba9876543210"
MODELS_PATH = "/v1/models"
STREAM_BODY = b'{"model":"fake","stream":true,"messages":[{"role":"user","content":"hi"}]}'
SOCKET_TIMEOUT = 5.0
UPSTREAM_MAX_SECONDS = 900.0  # the fake exits by itself after this, whatever happens here
BEFORE_REF = "14b5711"  # the last commit before issue 21's proxy changes
# The fairness limits would turn a load generator's 50 connections into 429s: out of the way here
# (with the memory limit the model then needs). The refusal scenarios measure 401s, then, with the
# throttle on, 429s ("after, throttled": the defaults).
AFTER_VALUES: dict[str, object] = {
    "limits": {"concurrentRequests": 128, "concurrentPerKey": 128, "concurrentPerClient": 128,
               "failedAuthPerMinute": 1_000_000},
    "resources": {"limits": {"cpu": "50m", "memory": "512Mi"}},
}


class ProxyBenchError(RuntimeError):
    """The proxy benchmark could not run or saw a wrong answer."""


@dataclass(frozen=True)
class Settings:
    """How much to measure."""

    ttfb_requests: int = 500
    ttfb_warmup: int = 50
    ttfb_deadline_seconds: float = 60.0
    wrk_seconds: int = 10
    wrk_repeats: int = 3
    wrk_threads: int = 2
    wrk_connections: int = 50
    streams: int = 50
    stream_seconds: float = 10.0


QUICK = Settings(ttfb_requests=100, ttfb_warmup=20, wrk_seconds=3, wrk_repeats=1)


@dataclass(frozen=True)
class Latency:
    """Time to the first SSE event, in milliseconds, over `count` requests."""

    median: float
    p90: float
    p99: float
    count: int


@dataclass(frozen=True)
class Memory:
    """nginx worker memory (KiB summed over workers) idle and with `streams` streams open."""

    workers: int
    idle_rss: int
    idle_pss: int | None
    busy_rss: int
    busy_pss: int | None
    master_rss: int
    streams: int


@dataclass(frozen=True)
class ProxyResults:
    """Everything the proxy benchmark measured."""

    nginx: str
    worker_processes: int
    direct: Latency
    proxied: Latency  # this tree's proxy
    before: Latency | None  # the proxy at BEFORE_REF
    no_metrics: Latency  # this tree's proxy with metrics.enabled false
    throughput: tuple[Throughput, ...]  # in the order of scenarios()
    upstream_pool: int
    cpu_limit: float  # cores: the auth-proxy container's rendered limit
    memory: Memory
    worst: dict[str, Any] | None  # testkit/proxy_memory.py's measurement
    settings: Settings

    def load(self, proxy: str, key: str) -> Throughput | None:
        """The throughput of one scenario: a proxy ("direct", "after", "before", "throttled") and a key."""
        return next((t for t in self.throughput if (t.scenario.proxy, t.scenario.key) == (proxy, key)), None)

    @property
    def fake(self) -> Throughput:
        found = self.load("direct", KEY)
        assert found is not None
        return found

    @property
    def authorized(self) -> Throughput:
        found = self.load("after", KEY)
        assert found is not None
        return found

    @property
    def rejected(self) -> Throughput:
        found = self.load("after", WRONG_KEY)
        assert found is not None
        return found

    def metrics_cost(self, key: str) -> float:
        """What metrics cost one wrk load: 1 - req/s with metrics on over req/s with them off."""
        on, off = self.load("after", key), self.load("no-metrics", key)
        assert on is not None and off is not None
        return 1 - on.rps.median / off.rps.median

    @property
    def authorized_ratio(self) -> float:
        """Valid-key requests per second through the proxy over the fake's own, at the same concurrency."""
        return self.authorized.rps.median / self.fake.rps.median


# -- processes ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Upstream:
    """The running fake: where it listens and its process id (for its CPU time)."""

    port: int
    pid: int


@contextmanager
def fake_upstream() -> Iterator[Upstream]:
    """bench/upstream.py in its own process."""
    process = subprocess.Popen([sys.executable, "-m", "bench.upstream", "--max-seconds", str(UPSTREAM_MAX_SECONDS)],
                               cwd=REPO, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE)
    try:
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], 10.0)
        line = process.stdout.readline().decode().strip() if ready else ""
        if not line.isdigit():
            raise ProxyBenchError(f"the fake upstream did not start (said {line!r})")
        yield Upstream(int(line), process.pid)
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        if process.stdout is not None:
            process.stdout.close()


def loopback_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def bind_loopback(conf: str, port: int, metrics_port: int | None = None) -> str:
    """The rendered nginx.conf listening on 127.0.0.1 only: its one `listen <port>;` gets the address, and so
    does the metrics server's when it has one."""
    listen = f"listen {port};"
    if conf.count(listen) != 1:
        raise ProxyBenchError(f"expected exactly one `{listen}` in the rendered nginx.conf")
    conf = conf.replace(listen, f"listen {HOST}:{port};")
    if metrics_port is not None:
        conf = conf.replace(f"listen {metrics_port};", f"listen {HOST}:{metrics_port};")
    if re.search(r"^\s*listen \d+;", conf, re.MULTILINE):
        raise ProxyBenchError("the rendered nginx.conf listens beyond loopback on a port the benchmark does not know")
    return conf


def before_files(tree: Path, port: int, upstream_port: int) -> dict[str, str]:
    """The proxy files BEFORE_REF's own generator renders for these ports (its default values)."""
    script = ("import json, sys, tempfile, pathlib\n"
              "from tests.proxy.nginx_harness import render_proxy_files, values_for\n"
              "with tempfile.TemporaryDirectory() as d:\n"
              "    files = render_proxy_files(pathlib.Path(d), values_for(int(sys.argv[1]), int(sys.argv[2])))\n"
              "print(json.dumps(files))\n")
    done = subprocess.run([sys.executable, "-c", script, str(port), str(upstream_port)], cwd=tree, capture_output=True,
                          text=True, timeout=60, check=False, env={**os.environ, "PYTHONPATH": str(tree)})
    if done.returncode != 0:
        raise ProxyBenchError(f"{BEFORE_REF} did not render its proxy: {done.stderr.strip()[-500:]}")
    return dict(json.loads(done.stdout))


@contextmanager
def before_tree(ref: str = BEFORE_REF) -> Iterator[Path | None]:
    """BEFORE_REF's generator, tests harness and schema, checked out from git into a scratch directory;
    None when this is not a git checkout holding it."""
    with tempfile.TemporaryDirectory(prefix="gemma-bench-before-") as scratch:
        archive = subprocess.run(["git", "archive", ref, "generator", "schemas", "tests"], cwd=REPO, capture_output=True,
                                 timeout=60, check=False)
        if archive.returncode != 0:
            yield None
            return
        subprocess.run(["tar", "-x", "-C", scratch], input=archive.stdout, check=True, timeout=60)
        yield Path(scratch)


@contextmanager
def loopback_proxy(runtime: Runtime, upstream_port: int, before: Path | None = None,
                   values: dict[str, Any] | None = None, metrics: dict[str, Any] | None = None) -> Iterator[Proxy]:
    """The proxy in front of `upstream_port`, accepting KEY, on 127.0.0.1 only: this tree's with `values`
    over the defaults, or, with `before`, the one that tree renders."""
    def on_loopback(files: dict[str, str], port: int, metrics_port: int) -> dict[str, str]:
        chosen = before_files(before, port, upstream_port) if before else files
        return {**chosen, "nginx.conf": bind_loopback(chosen["nginx.conf"], port, metrics_port)}

    with nginx_harness.running_proxy(runtime, upstream_port, values, key_text=f"{KEY}\n", adapt=on_loopback,
                                     metrics=metrics) as proxy:
        proxy.settled_error_log()  # the workers are up and have read the key
        yield proxy


def cpu_cores(quantity: str) -> float:
    """A Kubernetes CPU quantity in cores: `50m` → 0.05, `2` → 2.0."""
    return float(quantity[:-1]) / 1000 if quantity.endswith("m") else float(quantity)


def proxy_cpu_limit() -> float:
    """The auth-proxy container's CPU limit in cores, as rendered from the values' defaults (as here)."""
    defaults = schema_defaults(load_schema(GeneratorSettings(root=REPO)))
    return cpu_cores(str(defaults["proxy"]["resources"]["limits"]["cpu"]))


def worker_processes(proxy: Proxy) -> int:
    """`worker_processes` of the rendered configuration."""
    match = re.search(r"^worker_processes (\d+);", proxy.files["nginx.conf"], re.MULTILINE)
    return int(match.group(1)) if match else 1


# -- time to first event -----------------------------------------------------------------------


def stream_request(key: str) -> bytes:
    """A streaming chat completion request with a bearer key."""
    return (f"POST /v1/chat/completions HTTP/1.1\r\nHost: {HOST}\r\nAuthorization: Bearer {key}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(STREAM_BODY)}\r\n\r\n").encode() + STREAM_BODY


class StreamClient:
    """One kept-alive connection that sends streaming requests and times their first event."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection((HOST, port), timeout=SOCKET_TIMEOUT)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.request = stream_request(KEY)

    def first_event_ns(self) -> int:
        """Send one request; nanoseconds until the first `data:` event; read the stream to its end."""
        start = time.perf_counter_ns()
        self.sock.sendall(self.request)
        buffer, first = b"", 0
        for _ in range(10_000):  # a 3-event stream arrives in a handful of reads
            data = self.sock.recv(65536)
            if not data:
                raise ProxyBenchError("the connection closed mid-stream")
            buffer += data
            if not first and b"data: " in buffer:
                first = time.perf_counter_ns() - start
            if first and buffer.endswith(b"0\r\n\r\n"):
                break
        if not buffer.startswith(b"HTTP/1.1 200 "):
            raise ProxyBenchError(f"stream answered {buffer[:40]!r}")
        return first

    def close(self) -> None:
        self.sock.close()


def latency(samples_ns: list[int]) -> Latency:
    """Median and tail of first-event times, in milliseconds."""
    ms = [s / 1e6 for s in samples_ns]
    return Latency(summarize(ms).median, percentile(ms, 0.9), percentile(ms, 0.99), len(ms))


def time_to_first_event(ports: list[int], settings: Settings) -> list[Latency]:
    """Interleaved requests to each port (the upstream, then proxies), same fake, kept-alive; the order
    rotates every round so none always goes first."""
    clients = [StreamClient(port) for port in ports]
    try:
        for _ in range(settings.ttfb_warmup):
            for client in clients:
                client.first_event_ns()
        times: list[list[int]] = [[] for _ in clients]
        deadline = time.monotonic() + settings.ttfb_deadline_seconds
        for i in range(settings.ttfb_requests):
            if time.monotonic() > deadline:
                break
            for slot in (*range(i % len(clients), len(clients)), *range(i % len(clients))):
                times[slot].append(clients[slot].first_event_ns())
    finally:
        for client in clients:
            client.close()
    return [latency(found) for found in times]


# -- throughput ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class WrkRun:
    """What one wrk run reported, and the CPU each process spent on it."""

    rps: float
    requests: int
    non_2xx: int
    socket_errors: int
    cpu_seconds: dict[str, float]  # "nginx workers", "fake upstream", "wrk"


@dataclass(frozen=True)
class Scenario:
    """One wrk load: straight to the fake or through one of the proxies, with a key, at a concurrency."""

    label: str
    proxy: str  # "direct", "after", "before", "throttled"
    key: str
    connections: int
    expect_errors: bool = False


def parse_wrk(output: str) -> tuple[float, int, int, int]:
    """Requests/sec, request count, non-2xx/3xx answers and socket errors from wrk's report."""
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    requests = re.search(r"(\d+) requests in", output)
    if not rps or not requests:
        raise ProxyBenchError(f"cannot read wrk's output:\n{output}")
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    return (float(rps.group(1)), int(requests.group(1)), int(non_2xx.group(1)) if non_2xx else 0,
            sum(int(n) for n in errors.groups()) if errors else 0)


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process has used so far (/proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wrk(port: int, key: str, connections: int, settings: Settings, watched: dict[str, list[int]]) -> WrkRun:
    """One wrk run of GET /v1/models with a bearer key, bounded by its duration; CPU of `watched` and wrk."""
    argv = ["wrk", f"-t{settings.wrk_threads}", f"-c{connections}", f"-d{settings.wrk_seconds}s",
            "--timeout", "2s", "-H", f"Authorization: Bearer {key}", f"http://{HOST}:{port}{MODELS_PATH}"]
    before = {name: sum(cpu_seconds(p) for p in pids) for name, pids in watched.items()}
    process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    timer = threading.Timer(settings.wrk_seconds + 30, process.kill)
    timer.start()
    try:
        _, status, usage = os.wait4(process.pid, 0)  # wrk's report is far smaller than a pipe buffer
    finally:
        timer.cancel()
    process.returncode = os.waitstatus_to_exitcode(status)
    assert process.stdout is not None and process.stderr is not None
    output, errors = process.stdout.read().decode(), process.stderr.read().decode()
    process.stdout.close()
    process.stderr.close()
    if process.returncode != 0:
        raise ProxyBenchError(f"wrk failed: {errors.strip()}")
    cpu = {name: sum(cpu_seconds(p) for p in pids) - before[name] for name, pids in watched.items()}
    cpu["wrk"] = usage.ru_utime + usage.ru_stime
    return WrkRun(*parse_wrk(output), cpu)


@dataclass(frozen=True)
class Throughput:
    """Requests per second of repeated wrk runs, what wrongly came back, CPU microseconds per request."""

    scenario: Scenario
    rps: Summary
    requests: int
    unexpected: int  # valid key: non-2xx answers; wrong key: answers that were not errors
    socket_errors: int
    cpu_us_per_request: dict[str, float]


def throughput(scenario: Scenario, runs: list[WrkRun]) -> Throughput:
    """Summary of a scenario's repeated runs."""
    requests = sum(r.requests for r in runs)
    unexpected = sum((r.requests - r.non_2xx) if scenario.expect_errors else r.non_2xx for r in runs)
    cpu = {name: sum(r.cpu_seconds[name] for r in runs) / requests * 1e6 for name in runs[0].cpu_seconds}
    return Throughput(scenario, summarize([r.rps for r in runs]), requests, unexpected,
                      sum(r.socket_errors for r in runs), cpu)


def scenarios(settings: Settings, before: bool) -> list[Scenario]:
    """The fake alone; this tree's proxy with a valid and a wrong key, and with its failed-auth throttle on
    (its defaults: after 30 failures a minute, 429 without a key check); this tree's proxy with metrics off,
    both keys; the proxy before, both keys."""
    c = settings.wrk_connections
    found = [Scenario("fake upstream alone (direct)", "direct", KEY, c),
             Scenario("proxy after, valid key (200)", "after", KEY, c),
             Scenario("proxy after, wrong key (401)", "after", WRONG_KEY, c, expect_errors=True),
             Scenario("proxy after, metrics off, valid key (200)", "no-metrics", KEY, c),
             Scenario("proxy after, metrics off, wrong key (401)", "no-metrics", WRONG_KEY, c, expect_errors=True),
             Scenario("proxy after, wrong key, throttled (429)", "throttled", WRONG_KEY, c, expect_errors=True)]
    if before:
        found += [Scenario("proxy before, valid key (200)", "before", KEY, c),
                  Scenario("proxy before, wrong key (401)", "before", WRONG_KEY, c, expect_errors=True)]
    return found


def upstream_pool(proxy: Proxy) -> int:
    """`keepalive N;` of the rendered upstream block: idle connections nginx keeps to llama-server."""
    match = re.search(r"^\s*keepalive (\d+);", proxy.files["nginx.conf"], re.MULTILINE)
    return int(match.group(1)) if match else 0


def status_of(port: int, key: str) -> int:
    """The status of one GET /v1/models with a bearer key."""
    with socket.create_connection((HOST, port), timeout=SOCKET_TIMEOUT) as sock:
        sock.sendall(f"GET {MODELS_PATH} HTTP/1.1\r\nHost: {HOST}\r\nAuthorization: Bearer {key}\r\n"
                     f"Connection: close\r\n\r\n".encode())
        head = sock.recv(64)
    return int(head.split(b" ", 2)[1])


def requests_per_second(upstream: Upstream, proxies: dict[str, Proxy], settings: Settings) -> list[Throughput]:
    """Every scenario `wrk_repeats` times, round-robin, with the CPU each process spent."""
    for name, proxy in proxies.items():
        if status_of(proxy.port, KEY) != 200 or status_of(proxy.port, WRONG_KEY) != 401:
            raise ProxyBenchError(f"the {name} proxy does not answer 200 to the key and 401 to a wrong one")
    planned = scenarios(settings, "before" in proxies)
    runs: list[list[WrkRun]] = [[] for _ in planned]
    for _ in range(settings.wrk_repeats):
        for scenario, found in zip(planned, runs, strict=True):
            target = proxies.get(scenario.proxy)
            watched = {"nginx workers": target.pids()[1:] if target else [], "fake upstream": [upstream.pid]}
            found.append(wrk(target.port if target else upstream.port, scenario.key, scenario.connections, settings,
                             watched))
            for each in proxies.values():
                each.access_log.write_bytes(b"")  # one line per request: keep the scratch files small
    return [throughput(scenario, found) for scenario, found in zip(planned, runs, strict=True)]


# -- memory ------------------------------------------------------------------------------------


def proc_kib(pid: int, name: str, file: str = "status") -> int | None:
    """A `Name:   123 kB` field of /proc/<pid>/<file>, in KiB; None when the kernel lacks it."""
    try:
        text = Path(f"/proc/{pid}/{file}").read_text()
    except OSError:
        return None
    match = re.search(rf"^{name}:\s+(\d+) kB", text, re.MULTILINE)
    return int(match.group(1)) if match else None


def _sum(values: list[int | None]) -> int | None:
    return None if any(v is None for v in values) else sum(v for v in values if v is not None)


def open_streams(port: int, settings: Settings) -> list[socket.socket]:
    """`settings.streams` slow streams through the proxy, each read up to its first event."""
    interval = 0.05
    body = (b'{"stream":true,"x_chunks":%d,"x_interval":%.2f}'
            % (int(settings.stream_seconds / interval), interval))
    request = (f"POST /v1/chat/completions HTTP/1.1\r\nHost: {HOST}\r\nAuthorization: Bearer {KEY}\r\n"
               f"Content-Length: {len(body)}\r\n\r\n").encode() + body
    sockets = []
    for _ in range(settings.streams):
        sock = socket.create_connection((HOST, port), timeout=SOCKET_TIMEOUT)
        sock.sendall(request)
        sockets.append(sock)
    for sock in sockets:
        if not sock.recv(65536).startswith(b"HTTP/1.1 200 "):
            raise ProxyBenchError("a stream was not answered with 200")
    return sockets


def memory(proxy: Proxy, settings: Settings) -> Memory:
    """Worker RSS and PSS idle, then with every stream open and flowing."""
    master, *workers = proxy.pids()
    if not workers:
        raise ProxyBenchError("nginx has no worker processes")
    idle_rss = _sum([proc_kib(w, "VmRSS") for w in workers])
    idle_pss = _sum([proc_kib(w, "Pss", "smaps_rollup") for w in workers])
    with ExitStack() as stack:
        for sock in open_streams(proxy.port, settings):
            stack.callback(sock.close)
        time.sleep(0.5)  # the streams keep flowing while we look
        busy_rss = _sum([proc_kib(w, "VmRSS") for w in workers])
        busy_pss = _sum([proc_kib(w, "Pss", "smaps_rollup") for w in workers])
    return Memory(len(workers), idle_rss or 0, idle_pss, busy_rss or 0, busy_pss, proc_kib(master, "VmRSS") or 0,
                  settings.streams)


# -- the whole run -----------------------------------------------------------------------------


def nginx_version(runtime: Runtime) -> str:
    """`nginx version: nginx/1.22.1` and whether Lua is built in or loaded."""
    done = subprocess.run([runtime.binary, "-v"], capture_output=True, text=True, timeout=10, check=False)
    kind = "Lua module loaded dynamically" if runtime.preamble else "OpenResty"
    return f"{done.stderr.strip().removeprefix('nginx version: ')} ({kind})"


def preflight() -> Runtime:
    """nginx with the Lua module, once wrk is known to be there too."""
    runtime = find_runtime()
    if runtime is None:
        raise ProxyBenchError(f"nginx with the Lua module is not installed; {nginx_harness.INSTALL_HINT}")
    if shutil.which("wrk") is None:
        raise ProxyBenchError("wrk is not installed: apt-get install -y wrk (make bench does it as root)")
    return runtime


def worst_case_memory() -> dict[str, Any] | None:
    """testkit/proxy_memory.py: the production defaults at their worst, in a private network
    namespace when run as root (thousands of loopback connections disturb nobody)."""
    command = [sys.executable, "-m", "testkit.proxy_memory"]
    if os.geteuid() == 0 and shutil.which("unshare") and shutil.which("ip"):
        command = ["unshare", "--net", "sh", "-c", 'ip link set lo up && exec "$@"', "sh", *command]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300, check=False,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    return dict(json.loads(done.stdout)) if done.returncode == 0 else None


def run_proxy(runtime: Runtime, settings: Settings, progress: Callable[[str], None]) -> ProxyResults:
    """Memory, time to first event and throughput, each on freshly started proxies."""
    with fake_upstream() as upstream, before_tree() as before, ExitStack() as stack:
        progress(f"proxy: memory with {settings.streams} open streams, then at its worst")
        with loopback_proxy(runtime, upstream.port, values=AFTER_VALUES) as proxy:
            workers, pool, mem = worker_processes(proxy), upstream_pool(proxy), memory(proxy, settings)
        worst = worst_case_memory()
        proxies = {"after": stack.enter_context(loopback_proxy(runtime, upstream.port, values=AFTER_VALUES)),
                   "no-metrics": stack.enter_context(loopback_proxy(runtime, upstream.port, values=AFTER_VALUES,
                                                                    metrics={"enabled": False})),
                   "throttled": stack.enter_context(loopback_proxy(runtime, upstream.port))}
        if before is not None:
            proxies["before"] = stack.enter_context(loopback_proxy(runtime, upstream.port, before=before))
        progress(f"proxy: time to first event, {settings.ttfb_requests} requests each way")
        ports = [upstream.port, proxies["after"].port, proxies["no-metrics"].port,
                 *([proxies["before"].port] if before is not None else [])]
        direct, proxied, no_metrics, *was = time_to_first_event(ports, settings)
        progress(f"proxy: wrk -t{settings.wrk_threads} -d{settings.wrk_seconds}s, {settings.wrk_repeats} round(s) of "
                 f"{len(scenarios(settings, before is not None))} loads")
        loads = requests_per_second(upstream, proxies, settings)
    return ProxyResults(nginx_version(runtime), workers, direct, proxied, was[0] if was else None, no_metrics,
                        tuple(loads), pool,
                        proxy_cpu_limit(), mem, worst, settings)
