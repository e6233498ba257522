"""Render: a plan → Kubernetes manifests, through Jinja2 templates.

Each template under templates/resources renders one resource (or nothing, when the plan turns it
off). Its YAML output is parsed strictly and dumped canonically, so formatting in a template
never leaks into the diff a reviewer reads.
"""

from __future__ import annotations

import hashlib
import json
import types
from functools import cache
from pathlib import Path
from typing import Any

import jinja2

from . import manifest, monitoring, waivers, yamlio
from .errors import TemplateError
from .manifest import Manifest
from .plan import Plan
from .problems import Problem
from .settings import ARGOCD_DIR, RENDERED_DIR

# Where the proxy's files sit inside the auth-proxy container. nginx runs with this prefix
# (`-p`), and the configuration names every path relative to it, so the proxy tests run the
# very same configuration under a temporary prefix.
PROXY_PREFIX = "/opt/gemma-proxy/"
PROXY_CONF_DIR = "conf"  # ConfigMap: nginx.conf, auth.lua
PROXY_SECRET_DIR = "secrets"  # Secret volume: api-key (no subPath, so the kubelet refreshes it)
PROXY_RUN_DIR = "run"  # emptyDir: pid file and nginx temp paths (the root filesystem is read-only)
API_KEY_FILE = "api-key"
TEMPLATE_CACHE_SUBDIR = "templates"  # under the cache directory: compiled templates
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
    "ingress.yaml.j2",
    "backendtrafficpolicy.yaml.j2",
    "podmonitor.yaml.j2",
    "prometheusrule.yaml.j2",
    "configmap-dashboard.yaml.j2",
)


def _plain(value: Any) -> Any:
    """JSON for the plan's read-only mappings."""
    if isinstance(value, types.MappingProxyType):
        return dict(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def quote(value: Any) -> str:
    """A value as a JSON scalar or collection, which is valid YAML (the `q` filter)."""
    return json.dumps(value, ensure_ascii=False, default=_plain)


class TemplateCache(jinja2.FileSystemBytecodeCache):
    """Compiled templates kept between runs: compiling the 16 templates was half of rendering one
    environment (bench/). Jinja keys each by the template's name and source checksum and the Python
    version, and writes it beside its place before renaming it in; an entry it cannot read is a miss."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        super().__init__(str(directory), "%s.jinja2")

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except Exception:  # a truncated or foreign file (pickle and marshal raise anything): compile again
            bucket.reset()

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            super().dump_bytecode(bucket)
        except OSError:
            pass  # a cache that cannot be written costs the next run a compile, nothing else


@cache
def jinja_env(cache_dir: Path | None = None) -> jinja2.Environment:
    """One template environment per cache directory for the process: templates compile once and are
    reused, and with a cache directory their compiled form is kept for the next run."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("generator", "templates"),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
        bytecode_cache=_template_cache(cache_dir),
    )
    env.filters["q"] = quote
    return env


def _template_cache(cache_dir: Path | None) -> TemplateCache | None:
    """The compiled-template cache under the cache directory; none when it cannot be made."""
    if cache_dir is None:
        return None
    try:
        return TemplateCache(cache_dir / TEMPLATE_CACHE_SUBDIR)
    except OSError:
        return None


def render_template(name: str, context: dict[str, Any], env: jinja2.Environment | None = None) -> str:
    """Render one template; a failure names the template and line."""
    try:
        return (env or jinja_env()).get_template(name).render(context)
    except jinja2.TemplateError as err:
        line = getattr(err, "lineno", None)
        where = f"line {line}" if line else ""
        raise TemplateError(f"template {name} failed", (Problem(f"templates/{name}", where, str(err)),)) from err


# What the workload template itself sets, which values may add to but never override (generator/overrides.py).
POD_LABELS = ("app",)
POD_ANNOTATIONS = ("checksum/proxy-config",)
LLAMA_ENV = ("HF_HOME", "HOME")
PROXY_ENV: tuple[str, ...] = ()
VOLUMES = ("models", "proxy-config", "api-key", "proxy-run", "llama-tmp")
MOUNT_PATHS = (MODEL_DIR, "/tmp", *(PROXY_PREFIX + d for d in (PROXY_CONF_DIR, PROXY_SECRET_DIR, PROXY_RUN_DIR)))


def llama_args(plan: Plan) -> list[str]:
    """llama-server's command line, every setting explicit so a llama.cpp default never surprises."""
    model, llama, proxy = plan.spec.model, plan.spec.llama, plan.spec.proxy
    args = [
        "--hf-repo", model.hf_repo,
        "--hf-file", model.hf_file,
        "--alias", model.alias,
        # Loopback only: nothing in the cluster reaches llama-server except through the proxy.
        "--host", "127.0.0.1",
        "--port", str(llama.port),
        "-c", str(llama.context_size),
        "-ngl", str(llama.gpu_layers),
        "--threads", str(llama.threads),
        "--batch-size", str(llama.batch_size),
        "--ubatch-size", str(llama.ubatch_size),
        # Every setting the memory budget depends on is explicit: llama.cpp's defaults (a 8192 MiB
        # prompt cache, 32 context checkpoints, slots chosen at run time) would not fit the pod.
        "--parallel", str(llama.parallel),
        "--kv-unified" if llama.kv_unified else "--no-kv-unified",
        "--cache-ram", str(llama.cache_ram_mib),
        "--ctx-checkpoints", str(llama.ctx_checkpoints),
        "--cache-type-k", llama.cache_type_k,
        "--cache-type-v", llama.cache_type_v,
        # The compute-buffer budget assumes flash attention, and a quantized V cache requires it.
        "--flash-attn", "on",
        "--timeout", str(plan.timeouts.llama_seconds),
        # The default for a request that names no max_tokens; the proxy refuses any that asks for more.
        "--n-predict", str(plan.proxy_limits.max_tokens),
        # One HTTP thread per connection nginx may keep open (each holds one in cpp-httplib), plus
        # two for anything else, e.g. `kubectl exec ... curl localhost:8000/health`.
        "--threads-http", str(proxy.upstream_keepalive * proxy.worker_processes + 2),
        # The proxy is the only client; the bundled web UI would only widen what the key unlocks.
        "--no-webui",
    ]
    if plan.spec.metrics.enabled:
        # /metrics on loopback, which only the proxy's metrics port passes on (never its API port).
        args.append("--metrics")
    if llama.swa_full:
        args.append("--swa-full")
    if llama.embeddings:
        args += ["--embeddings", "--pooling", llama.pooling]
    return args


def proxy_files(plan: Plan, env: jinja2.Environment | None = None) -> dict[str, str]:
    """The proxy ConfigMap's data: nginx.conf rendered from the plan, the Lua scripts as written (metrics.lua
    with metrics on)."""
    env = env or jinja_env()
    context = {"spec": plan.spec, "key_file": f"{PROXY_SECRET_DIR}/{API_KEY_FILE}", "run_dir": PROXY_RUN_DIR,
               "conf_dir": PROXY_CONF_DIR, "timeouts": plan.timeouts, "limits": plan.proxy_limits}
    files = {
        "nginx.conf": render_template("proxy/nginx.conf.j2", context, env),
        "auth.lua": env.loader.get_source(env, "proxy/auth.lua")[0],  # type: ignore[union-attr]
    }
    if plan.spec.metrics.enabled:
        files["metrics.lua"] = env.loader.get_source(env, "proxy/metrics.lua")[0]  # type: ignore[union-attr]
    return files


def checksum(data: dict[str, str]) -> str:
    """A stable digest of a ConfigMap's data; as a pod annotation it rolls the pod when the data changes."""
    # 40 hex digits (160 bits) are plenty to notice a change and keep the line within 80 columns.
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:40]


def context(plan: Plan, env: jinja2.Environment | None = None) -> dict[str, Any]:
    """Everything the resource templates see."""
    if plan.capacity is None:
        raise TemplateError(f"{plan.file}: cannot render without the model's geometry", plan.problems)
    files = proxy_files(plan, env)
    return {
        "plan": plan,
        "spec": plan.spec,
        "env": plan.env,
        "names": plan.names,
        "proxy_files": files,
        "proxy_checksum": checksum(files),
        # The values' own flags last; generator/overrides.py refuses any that llama_args sets.
        "llama_args": llama_args(plan) + list(plan.spec.llama.extra_args),
        "startup": plan.capacity.startup,
        "workload_kind": plan.workload_kind,
        "timeouts": plan.timeouts,
        "proxy": {"prefix": PROXY_PREFIX, "conf_dir": PROXY_CONF_DIR, "secret_dir": PROXY_SECRET_DIR,
                  "run_dir": PROXY_RUN_DIR},
        "proxy_limits": plan.proxy_limits,
        "model_dir": MODEL_DIR,
        "rendered_path": f"{RENDERED_DIR}/{plan.env}",
        "monitoring": monitoring_context(plan),
    }


def monitoring_context(plan: Plan) -> dict[str, Any]:
    """What the PodMonitor, PrometheusRule and dashboard templates need; empty with metrics off."""
    metrics = plan.spec.metrics
    if not metrics.enabled:
        return {}
    app = {"app": plan.names.app}  # last: a values label never takes the selector's away
    return {
        "pod_monitor_labels": {**metrics.pod_monitor.labels, **app},
        "rule_labels": {**metrics.prometheus_rule.labels, **app},
        "rule_groups": monitoring.rule_groups(plan) if metrics.prometheus_rule.enabled else [],
        "dashboard_json": monitoring.dashboard_json(plan) if metrics.dashboard.enabled else "",
    }


def parse_rendered(text: str, template: str) -> dict[str, Any] | None:
    """Parse a template's output; empty output means the resource is turned off."""
    try:
        doc = yamlio.load_one(text)  # the strict loader `validate` reads manifests with
    except yamlio.YAMLError as err:
        problem = Problem(f"templates/{template}", "", str(err))
        raise TemplateError(f"template {template} produced invalid YAML", (problem,)) from err
    if doc is not None and not isinstance(doc, dict):
        raise TemplateError(f"template {template} produced a {type(doc).__name__}, not a resource")
    return doc


def render_plan(plan: Plan, cache_dir: Path | None = None) -> list[Manifest]:
    """Every manifest of one environment, sorted by path, then its Argo CD Application; with a cache
    directory, compiled templates are kept there between runs."""
    env = jinja_env(cache_dir)
    ctx = context(plan, env)
    resources = []
    for template in RESOURCE_TEMPLATES:
        doc = parse_rendered(render_template(f"resources/{template}", ctx, env), template)
        if doc is not None:
            path = f"{RENDERED_DIR}/{plan.env}/{manifest.file_name(doc)}"
            resources.append(manifest.build(path, waivers.annotate(doc), plan.file))
    template = "argocd/applicationset.yaml.j2" if plan.spec.argocd.application_set.enabled else "argocd/application.yaml.j2"
    application = parse_rendered(render_template(template, ctx, env), template)
    if application is None:
        raise TemplateError(f"template {template} rendered nothing")
    return [*sorted(resources, key=lambda m: m.path), manifest.build(f"{ARGOCD_DIR}/{plan.env}.yaml", application, plan.file)]
