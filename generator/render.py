"""Render: an environment's values → Kubernetes manifests, through Jinja2 templates.

Each template under templates/resources renders one resource (or nothing, when values turn it
off). Its YAML output is parsed strictly and dumped canonically, so formatting in a template
never leaks into the diff a reviewer reads.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from typing import Any

import jinja2
import yaml

from . import manifest, waivers
from .capacity.guards import TIMEOUT_SLACK_SECONDS, Timeouts, resolve_geometry, startup_for
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


def proxy_files(values: dict[str, Any]) -> dict[str, str]:
    """The proxy ConfigMap's data: nginx.conf rendered from values, the Lua auth script as written."""
    context = {"v": values, "key_file": f"{PROXY_SECRET_DIR}/{API_KEY_FILE}", "run_dir": PROXY_RUN_DIR,
               "conf_dir": PROXY_CONF_DIR, "timeouts": timeouts(values)}
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
