"""Render: an environment's values → Kubernetes manifests, through Jinja2 templates.

Each template under templates/resources renders one resource (or nothing, when values turn it
off). Its YAML output is parsed strictly and dumped canonically, so formatting in a template
never leaks into the diff a reviewer reads.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cache
from typing import Any

import jinja2
import yaml

from . import manifest, waivers
from .capacity.budget import context_layout
from .capacity.guards import TIMEOUT_SLACK_SECONDS, Timeouts, resolve_geometry, startup_for
from .capacity.quantity import MiB, parse_bytes
from .capacity.startup import StartupWindow
from .errors import Problem, TemplateError
from .kube.loader import StrictSafeLoader
from .manifest import Manifest
from .settings import ARGOCD_DIR, RENDERED_DIR
from .values import Environment

# Where the proxy's files sit inside the auth-proxy container. nginx runs with this prefix
# (`-p`), and the configuration names every path relative to it, so the proxy tests run the
# very same configuration under a temporary prefix.
PROXY_PREFIX = "/opt/gemma-proxy/"
PROXY_CONF_DIR = "conf"  # ConfigMap: nginx.conf, auth.lua
PROXY_SECRET_DIR = "secrets"  # Secret volume: api-key (no subPath, so the kubelet refreshes it)
PROXY_RUN_DIR = "run"  # emptyDir: pid file and nginx temp paths (the root filesystem is read-only)
API_KEY_FILE = "api-key"
MODEL_DIR = "/models"

RESOURCE_TEMPLATES = (
    "clustersecretstore.yaml.j2",
    "externalsecret.yaml.j2",
    "configmap-proxy.yaml.j2",
    "persistentvolumeclaim.yaml.j2",
    "workload.yaml.j2",
    "poddisruptionbudget.yaml.j2",
    "horizontalpodautoscaler.yaml.j2",
    "service.yaml.j2",
    "networkpolicy.yaml.j2",
    "certificate.yaml.j2",
    "referencegrant.yaml.j2",
    "httproute.yaml.j2",
    "httproute-redirect.yaml.j2",
    "backendtrafficpolicy.yaml.j2",
)


@cache
def jinja_env() -> jinja2.Environment:
    """One template environment for the process: templates compile once and are reused."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("generator", "templates"),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    env.filters["q"] = lambda value: json.dumps(value, ensure_ascii=False)  # JSON scalars are valid YAML
    return env


def render_template(name: str, context: dict[str, Any]) -> str:
    """Render one template; a failure names the template and line."""
    try:
        return jinja_env().get_template(name).render(context)
    except jinja2.TemplateError as err:
        line = getattr(err, "lineno", None)
        where = f"line {line}" if line else ""
        raise TemplateError(f"template {name} failed", (Problem(f"templates/{name}", where, str(err)),)) from err


def names(values: dict[str, Any]) -> dict[str, str]:
    """The name of every resource, derived from the base name once."""
    base = values["name"]
    return {
        "app": base,
        "secret": f"{base}-api-key",
        "proxy_config": f"{base}-proxy",
        "cache": f"{base}-models",
        "tls_secret": f"{base}-tls",
        "redirect_route": f"{base}-http-redirect",
    }


def llama_args(values: dict[str, Any]) -> list[str]:
    """llama-server's command line, every setting explicit so a llama.cpp default never surprises."""
    model, llama = values["model"], values["llama"]
    args = [
        "--hf-repo", model["hfRepo"],
        "--hf-file", model["hfFile"],
        "--alias", model["alias"],
        # Loopback only: nothing in the cluster reaches llama-server except through the proxy.
        "--host", "127.0.0.1",
        "--port", str(llama["port"]),
        "-c", str(llama["contextSize"]),
        "-ngl", str(llama["gpuLayers"]),
        "--threads", str(llama["threads"]),
        "--batch-size", str(llama["batchSize"]),
        "--ubatch-size", str(llama["ubatchSize"]),
        # Every setting the memory budget depends on is explicit: llama.cpp's defaults (a 8192 MiB
        # prompt cache, 32 context checkpoints, slots chosen at run time) would not fit the pod.
        "--parallel", str(llama["parallel"]),
        "--kv-unified" if llama["kvUnified"] else "--no-kv-unified",
        "--cache-ram", str(llama["cacheRamMiB"]),
        "--ctx-checkpoints", str(llama["ctxCheckpoints"]),
        "--cache-type-k", llama["cacheTypeK"],
        "--cache-type-v", llama["cacheTypeV"],
        # The compute-buffer budget assumes flash attention, and a quantized V cache requires it.
        "--flash-attn", "on",
        "--timeout", str(timeouts(values).llama_seconds),
        # The default for a request that names no max_tokens; the proxy refuses any that asks for more.
        "--n-predict", str(proxy_limits(values).max_tokens),
        # One HTTP thread per connection nginx may keep open (each holds one in cpp-httplib), plus
        # two for anything else, e.g. `kubectl exec ... curl localhost:8000/health`.
        "--threads-http", str(values["proxy"]["upstreamKeepalive"] * values["proxy"]["workerProcesses"] + 2),
        # The proxy is the only client; the bundled web UI would only widen what the key unlocks.
        "--no-webui",
    ]
    if llama["swaFull"]:
        args.append("--swa-full")
    if llama["embeddings"]:
        args += ["--embeddings", "--pooling", llama["pooling"]]
    return args


def workload_kind(values: dict[str, Any]) -> str:
    """Deployment for one replica or a shared (ReadWriteMany) cache; else a StatefulSet, one cache volume per replica."""
    return "Deployment" if values["replicas"] == 1 or values["cache"]["accessMode"] == "ReadWriteMany" else "StatefulSet"


def timeouts(values: dict[str, Any]) -> Timeouts:
    """The one request timeout, spread so each hop waits a little longer than the hop inside it.

    llama-server's socket timeout is the value itself; nginx waits TIMEOUT_SLACK_SECONDS more and
    the Gateway twice that, so an outer hop never gives up while the inner one is still working.
    """
    base = int(values["requestTimeoutSeconds"])
    return Timeouts(gateway_seconds=base + 2 * TIMEOUT_SLACK_SECONDS, nginx_seconds=base + TIMEOUT_SLACK_SECONDS,
                    llama_seconds=base)


def startup_window(values: dict[str, Any]) -> StartupWindow:
    """The startupProbe timing: the model's download at the slowest planned bandwidth, then its load."""
    geometry, problems = resolve_geometry(values, "")
    window = startup_for(values, geometry) if geometry is not None else None
    if window is None:
        raise TemplateError("no startup window: " + "; ".join(str(p.problem) for p in problems))
    return window


# The auth proxy's memory, measured in real nginx (tests/proxy/test_memory.py asserts each stays
# within what is assumed here; `make bench` prints the measurements): nginx 1.22 with
# lua-nginx-module 0.10.23 and OpenResty 1.27 share this code, 64-bit.
PROXY_FIXED_BYTES = 12 * MiB  # the master and one idle worker, auth.lua loaded, shared zones included
PROXY_WORKER_BYTES = 6 * MiB  # each further worker
PROXY_SLOT_BYTES = 512  # each worker_connections slot (connection and two events), allocated at start
PROXY_CONNECTION_BYTES = 32 * 1024  # a client connection at its worst before authentication: full header buffers
PROXY_REQUEST_BYTES = 48 * 1024  # an authenticated request in flight on top: upstream connection, buffers, Lua
PROXY_BODY_FACTOR = 4  # memory per byte of a generation body while it is checked: buffer, Lua string, decoded table
PROXY_HEADROOM = 0.25  # of the limit, left free: allocator fragmentation, Lua's garbage not yet collected
PROXY_MAX_WORKER_CONNECTIONS = 4096
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
    concurrent_requests: int  # in flight to llama-server, all keys
    concurrent_per_key: int
    concurrent_per_client: int
    max_tokens: int  # per request, prompts x completions x tokens
    completion_body_bytes: int  # largest generation body; also the in-memory body buffer of every API location
    memory_limit_bytes: int
    memory_worst_bytes: int  # every connection and request at its worst, with the limits above
    run_dir_mib: int  # the emptyDir: every request in flight spooling a body of the largest size
    endpoints: tuple[tuple[str, tuple[str, ...]], ...]  # (path, methods), sorted: all the proxy lets through


def proxy_memory(workers: int, worker_connections: int, requests: int, body_bytes: int) -> int:
    """The proxy's memory when every connection and every request in flight is at its measured worst."""
    connections = workers * worker_connections * (PROXY_SLOT_BYTES + PROXY_CONNECTION_BYTES)
    in_flight = requests * (PROXY_REQUEST_BYTES + PROXY_BODY_FACTOR * body_bytes)
    return PROXY_FIXED_BYTES + (workers - 1) * PROXY_WORKER_BYTES + connections + in_flight


def proxy_limits(values: dict[str, Any]) -> ProxyLimits:
    """Concurrency, max_tokens and body ceilings from the slots and context; worker_connections from the
    memory limit: as many as fit when each one and each request in flight is at its worst."""
    proxy, llama, limits = values["proxy"], values["llama"], values["proxy"]["limits"]
    parallel, workers = llama["parallel"], proxy["workerProcesses"]
    slot_context = context_layout(llama["contextSize"], parallel, llama["kvUnified"])[1]
    total = limits["concurrentRequests"] or 4 * parallel
    body = limits["completionBodyKiB"] * 1024 or min(max(64 * 1024, 32 * slot_context), proxy["maxRequestBodyMiB"] * MiB)
    limit = parse_bytes(proxy["resources"]["limits"]["memory"])
    usable = int(limit * (1 - PROXY_HEADROOM))
    spare = usable - proxy_memory(workers, 0, total, body)
    fitting = max(0, min(spare // (workers * (PROXY_SLOT_BYTES + PROXY_CONNECTION_BYTES)), PROXY_MAX_WORKER_CONNECTIONS))
    connections = proxy["workerConnections"] or fitting
    # Each request in flight holds two connections, and the idle upstream pool one each.
    needed = 2 * total + proxy["upstreamKeepalive"] + 16
    if connections < needed:
        problem = (f"{connections} worker connections are fewer than the {needed} that {total} requests in flight "
                   "(two each) and the upstream pool need; lower proxy.limits.concurrentRequests or "
                   "proxy.upstreamKeepalive, or raise proxy.workerConnections or the memory limit")
    elif connections > fitting:
        problem = (f"{connections} worker connections and {total} requests in flight need "
                   f"{proxy_memory(workers, connections, total, body) / MiB:.1f} MiB at worst, over "
                   f"{usable / MiB:.1f} MiB ({1 - PROXY_HEADROOM:.0%} of proxy.resources.limits.memory); lower "
                   "proxy.limits.concurrentRequests or proxy.limits.completionBodyKiB, or raise the limit")
    else:
        problem = ""
    if problem:
        raise TemplateError("the auth proxy does not fit its memory limit", (Problem("values", "proxy", problem),))
    return ProxyLimits(connections, total, limits["concurrentPerKey"] or parallel,
                       limits["concurrentPerClient"] or 2 * parallel, limits["maxTokens"] or slot_context // 2, body,
                       limit, proxy_memory(workers, connections, total, body),
                       total * proxy["maxRequestBodyMiB"] + PROXY_RUN_DIR_SLACK_MIB, allowed_endpoints(proxy))


def allowed_endpoints(proxy: dict[str, Any]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The default API plus proxy.allowedEndpoints; methods of a path named twice are merged."""
    merged = {path: set(methods) for path, methods in PROXY_ENDPOINTS.items()}
    for extra in proxy["allowedEndpoints"]:
        merged.setdefault(extra["path"], set()).update(extra["methods"])
    return tuple((path, tuple(sorted(methods))) for path, methods in sorted(merged.items()))


def proxy_files(values: dict[str, Any]) -> dict[str, str]:
    """The proxy ConfigMap's data: nginx.conf rendered from values, the Lua auth script as written."""
    context = {"v": values, "key_file": f"{PROXY_SECRET_DIR}/{API_KEY_FILE}", "run_dir": PROXY_RUN_DIR,
               "conf_dir": PROXY_CONF_DIR, "timeouts": timeouts(values), "limits": proxy_limits(values)}
    return {
        "nginx.conf": render_template("proxy/nginx.conf.j2", context),
        "auth.lua": jinja_env().loader.get_source(jinja_env(), "proxy/auth.lua")[0],  # type: ignore[union-attr]
    }


def checksum(data: dict[str, str]) -> str:
    """A stable digest of a ConfigMap's data; as a pod annotation it rolls the pod when the data changes."""
    # 40 hex digits (160 bits) are plenty to notice a change and keep the line within 80 columns.
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:40]


def context(env: Environment) -> dict[str, Any]:
    """Everything the resource templates see."""
    values = env.values
    files = proxy_files(values)
    return {
        "v": values,
        "env": env.name,
        "names": names(values),
        "proxy_files": files,
        "proxy_checksum": checksum(files),
        "llama_args": llama_args(values),
        "startup": startup_window(values),
        "workload_kind": workload_kind(values),
        "timeouts": timeouts(values),
        "proxy": {"prefix": PROXY_PREFIX, "conf_dir": PROXY_CONF_DIR, "secret_dir": PROXY_SECRET_DIR,
                  "run_dir": PROXY_RUN_DIR},
        "proxy_limits": proxy_limits(values),
        "model_dir": MODEL_DIR,
        "rendered_path": f"{RENDERED_DIR}/{env.name}",
    }


def parse_rendered(text: str, template: str) -> dict[str, Any] | None:
    """Parse a template's output; empty output means the resource is turned off."""
    try:
        # The same strict loader `validate` reads manifests with: a duplicate key is an error.
        doc = yaml.load(text, Loader=StrictSafeLoader)
    except yaml.YAMLError as err:
        problem = Problem(f"templates/{template}", "", str(err))
        raise TemplateError(f"template {template} produced invalid YAML", (problem,)) from err
    if doc is not None and not isinstance(doc, dict):
        raise TemplateError(f"template {template} produced a {type(doc).__name__}, not a resource")
    return doc


def render_environment(env: Environment) -> list[Manifest]:
    """Every manifest of one environment, sorted by path."""
    ctx = context(env)
    out = []
    for template in RESOURCE_TEMPLATES:
        doc = parse_rendered(render_template(f"resources/{template}", ctx), template)
        if doc is not None:
            out.append(manifest.build(f"{RENDERED_DIR}/{env.name}", waivers.annotate(doc), env.file))
    return sorted(out, key=lambda m: m.path)


def render_application(env: Environment) -> Manifest:
    """The Argo CD Application that syncs this environment's rendered directory."""
    ctx = context(env)
    doc = parse_rendered(render_template("argocd/application.yaml.j2", ctx), "argocd/application.yaml.j2")
    assert doc is not None
    return manifest.Manifest(f"{ARGOCD_DIR}/{env.name}.yaml", doc,
                             manifest.HEADER.format(source=env.file) + manifest.dump(doc))
