"""The auth proxy's derived quantities: its API, concurrency, token and body ceilings, and connections."""

from __future__ import annotations

from dataclasses import dataclass

from ..capacity.budget import context_layout
from ..capacity.proxy import PROXY_METRICS_DICT_KIB, fitting_connections, proxy_memory, usable_bytes
from ..capacity.quantity import MiB, parse_bytes
from .model import Proxy, Spec

PROXY_RUN_DIR_SLACK_MIB = 8  # the emptyDir beyond spooled bodies: pid file, nginx's other temp paths
# What the API is (the seed's endpoints); proxy.allowedEndpoints adds to it, /health is the probes'.
PROXY_ENDPOINTS: dict[str, tuple[str, ...]] = {
    "/v1/chat/completions": ("POST",),
    "/v1/completions": ("POST",),
    "/v1/embeddings": ("POST",),
    "/v1/models": ("GET",),
    "/slots": ("GET",),
}


@dataclass(frozen=True)
class ProxyLimits:
    """Every quantity of the auth proxy derived from values, computed once."""

    worker_connections: int
    fitting_connections: int  # as many as the memory limit holds at their worst
    needed_connections: int  # two per request in flight, the upstream pool, a few for probes
    concurrent_requests: int  # in flight to llama-server, all keys
    concurrent_per_key: int
    concurrent_per_client: int
    max_tokens: int  # per request, prompts x completions x tokens
    completion_body_bytes: int  # largest generation body; also the in-memory body buffer of every API location
    memory_limit_bytes: int
    memory_usable_bytes: int  # the limit less the headroom
    memory_worst_bytes: int  # every connection and request at its worst, with the limits above
    run_dir_mib: int  # the emptyDir: every request in flight spooling a body of the largest size
    endpoints: tuple[tuple[str, tuple[str, ...]], ...]  # (path, methods), sorted: all the proxy lets through
    metrics_dict_kib: int  # the shared dictionary of metrics.lua; 0 with metrics off


def proxy_limits(spec: Spec) -> ProxyLimits:
    """Concurrency, max_tokens and body ceilings from the slots and context; worker_connections from the
    memory limit: as many as fit when each one and each request in flight is at its worst (guards.py
    refuses a set value that does not fit, or too few for the requests in flight)."""
    proxy, llama, limits = spec.proxy, spec.llama, spec.proxy.limits
    parallel, workers = llama.parallel, proxy.worker_processes
    slot_context = context_layout(llama.context_size, parallel, llama.kv_unified)[1]
    total = limits.concurrent_requests or 4 * parallel
    body = limits.completion_body_ki_b * 1024 or min(max(64 * 1024, 32 * slot_context), proxy.max_request_body_mib * MiB)
    limit, metrics = parse_bytes(proxy.resources.limits.memory), spec.metrics.enabled
    fitting = fitting_connections(limit, workers, total, body, metrics)
    connections = proxy.worker_connections or fitting
    return ProxyLimits(
        worker_connections=connections, fitting_connections=fitting,
        needed_connections=2 * total + proxy.upstream_keepalive + 16, concurrent_requests=total,
        concurrent_per_key=limits.concurrent_per_key or parallel,
        concurrent_per_client=limits.concurrent_per_client or 2 * parallel,
        max_tokens=limits.max_tokens or slot_context // 2, completion_body_bytes=body, memory_limit_bytes=limit,
        memory_usable_bytes=usable_bytes(limit), memory_worst_bytes=proxy_memory(workers, connections, total, body, metrics),
        run_dir_mib=total * proxy.max_request_body_mib + PROXY_RUN_DIR_SLACK_MIB, endpoints=allowed_endpoints(proxy),
        metrics_dict_kib=PROXY_METRICS_DICT_KIB if metrics else 0)


def allowed_endpoints(proxy: Proxy) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The default API plus proxy.allowedEndpoints; methods of a path named twice are merged."""
    merged = {path: set(methods) for path, methods in PROXY_ENDPOINTS.items()}
    for extra in proxy.allowed_endpoints:
        merged.setdefault(extra.path, set()).update(extra.methods)
    return tuple((path, tuple(sorted(methods))) for path, methods in sorted(merged.items()))
