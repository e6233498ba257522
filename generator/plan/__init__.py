"""The plan: one environment's values, typed, with every derived quantity computed once.

values → Plan → (manifests | budget | docs): render, guards, `budget` and `diff` read the plan,
never the raw values. Derived here and nowhere else: resource names, the timeout of each hop,
the workload kind, the model's geometry, llama-server's memory budget, the startupProbe window and
the serving estimate (tokens/s per slot) and what the alerts are written with.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ..capacity.budget import Budget, Fit, LlamaSettings, compare, predict
from ..capacity.catalog import Geometry, lookup
from ..capacity.gpu import GpuBudget, gpu_memory_bytes, split
from ..capacity.platform import REFERENCE, CpuPlatform, platform_for
from ..capacity.quantity import parse_bytes, parse_cpu
from ..capacity.serving import ServingEstimate, estimate
from ..capacity.startup import StartupWindow, startup_window
from ..problems import Problem
from ..values import Values
from .build import PlanModelError, build
from .model import K8sObject, Spec
from .monitoring import Monitoring, monitoring_for
from .proxy import ProxyLimits, proxy_limits

__all__ = [
    "Capacity", "Monitoring", "Names", "Plan", "PlanModelError", "ProxyLimits", "Spec", "Timeouts", "build_plan"]

TIMEOUT_SLACK_SECONDS = 5  # an outer hop waits this much longer than the hop inside it
ARCH_LABEL = "kubernetes.io/arch"  # the nodeSelector label that says which CPUs the pods land on


@dataclass(frozen=True)
class Names:
    """The name of every resource, derived from the base name once."""

    app: str
    secret: str
    proxy_config: str
    cache: str
    tls_secret: str
    redirect_route: str
    dashboard: str


@dataclass(frozen=True)
class Timeouts:
    """Seconds each hop waits for an answer, outermost first."""

    gateway_seconds: int
    nginx_seconds: int
    llama_seconds: int


@dataclass(frozen=True)
class Capacity:
    """What the model needs and what the container gives it."""

    geometry: Geometry
    settings: LlamaSettings
    budget: Budget
    fit: Fit
    startup: StartupWindow
    cpu_limit_cores: Decimal
    cache_size_bytes: int
    gpu: GpuBudget | None = None  # with llama.gpu.enabled: what the GPUs hold (`budget` is then the RAM side)
    platform: CpuPlatform = REFERENCE  # the CPU the budget is for (what llama.cpp repacks depends on it)
    serving: ServingEstimate | None = None  # generation speed on the CPU; None on GPUs (never measured)


@dataclass(frozen=True)
class Plan:
    """One environment: its values typed (spec), where they came from, and what follows from them."""

    values: Values
    spec: Spec
    names: Names
    timeouts: Timeouts
    workload_kind: str  # Deployment or StatefulSet
    proxy_limits: ProxyLimits
    monitoring: Monitoring
    capacity: Capacity | None  # None when the model's geometry is unknown; `problems` says why
    problems: tuple[Problem, ...] = ()

    @property
    def env(self) -> str:
        return self.values.name

    @property
    def file(self) -> str:
        return self.values.file

    @property
    def gpu_enabled(self) -> bool:
        return self.spec.llama.gpu.enabled

    @property
    def llama_image(self) -> str:
        """The CUDA image on GPUs, else the CPU one."""
        return self.spec.llama.gpu.image if self.gpu_enabled else self.spec.llama.image

    @property
    def gpu_resource(self) -> str:
        """The extended resource the GPUs are requested as: `nvidia.com/gpu`, or a MIG slice's."""
        gpu = self.spec.llama.gpu
        return f"{gpu.vendor}.com/mig-{gpu.mig_profile}" if gpu.mig_profile else f"{gpu.vendor}.com/gpu"

    @property
    def llama_resources(self) -> dict[str, dict[str, Any]]:
        """llama-server's requests and limits, with the GPUs in both (an extended resource cannot be overcommitted)."""
        resources: dict[str, dict[str, Any]] = self.spec.llama.resources.to_k8s()
        if self.gpu_enabled:
            for side in resources.values():
                side[self.gpu_resource] = self.spec.llama.gpu.count
        return resources

    @property
    def runtime_class_name(self) -> str:
        """The GPU's runtime class on GPUs when it names one, else the pod's."""
        gpu = self.spec.llama.gpu
        return gpu.runtime_class_name if self.gpu_enabled and gpu.runtime_class_name else self.spec.runtime_class_name

    @property
    def tolerations(self) -> tuple[K8sObject, ...]:
        """The pod's tolerations, then the GPU taint's on GPUs."""
        return self.spec.tolerations + (self.spec.llama.gpu.tolerations if self.gpu_enabled else ())

    @property
    def edge_namespace(self) -> str:
        """Where the proxies in front of the Service run (Envoy's, or the ingress controller's): the NetworkPolicy admits it."""
        route = self.spec.route
        return route.ingress.controller_namespace if route.kind == "ingress" else self.spec.gateway.proxy_namespace


def names_for(base: str) -> Names:
    """Every resource's name from the base name."""
    return Names(app=base, secret=f"{base}-api-key", proxy_config=f"{base}-proxy", cache=f"{base}-models",
                 tls_secret=f"{base}-tls", redirect_route=f"{base}-http-redirect", dashboard=f"{base}-dashboard")


def timeouts_for(request_timeout_seconds: int) -> Timeouts:
    """The one request timeout, spread so each hop waits a little longer than the hop inside it.

    llama-server's socket timeout is the value itself; nginx waits TIMEOUT_SLACK_SECONDS more and
    the Gateway twice that, so an outer hop never gives up while the inner one is still working.
    """
    base = request_timeout_seconds
    return Timeouts(gateway_seconds=base + 2 * TIMEOUT_SLACK_SECONDS, nginx_seconds=base + TIMEOUT_SLACK_SECONDS,
                    llama_seconds=base)


def workload_kind_for(spec: Spec) -> str:
    """Deployment for one replica or a shared (ReadWriteMany) cache; else a StatefulSet, one cache volume per replica."""
    return "Deployment" if spec.replicas == 1 or spec.cache.access_mode == "ReadWriteMany" else "StatefulSet"


def llama_settings(spec: Spec) -> LlamaSettings:
    """The llama-server flags that decide its memory."""
    llama = spec.llama
    return LlamaSettings(
        context_size=llama.context_size, batch_size=llama.batch_size, ubatch_size=llama.ubatch_size,
        parallel=llama.parallel, cache_ram_mib=llama.cache_ram_mib, cache_type_k=llama.cache_type_k,
        cache_type_v=llama.cache_type_v, kv_unified=llama.kv_unified, swa_full=llama.swa_full,
        embeddings=llama.embeddings, ctx_checkpoints=llama.ctx_checkpoints,
    )


def geometry_for(values: Values, spec: Spec) -> Geometry | Problem:
    """The model's geometry: `model.geometry` when given, else the catalog's entry for (hfRepo, hfFile)."""
    if spec.model.geometry is not None:
        return spec.model.geometry.geometry()
    entry = lookup(spec.model.hf_repo, spec.model.hf_file)
    if entry is not None:
        return entry.geometry
    return Problem(values.file, "model.geometry", f"{spec.model.hf_repo}/{spec.model.hf_file} is not in the model "
                   "catalog, so model.geometry is required: run `gemma-gitops inspect FILE.gguf` and paste its output "
                   "under model.geometry", rule="model-geometry")


def gpu_split(spec: Spec, geometry: Geometry, settings: LlamaSettings, budget: Budget) -> tuple[Budget, GpuBudget | None]:
    """(the RAM side of the budget, the GPUs' side) when the values ask for GPUs, else (budget, None)."""
    gpu = spec.llama.gpu
    if not gpu.enabled:
        return budget, None
    memory = gpu_memory_bytes(gpu.card, gpu.memory_gib, gpu.mig_profile)
    return split(geometry, settings, budget, spec.llama.gpu_layers, gpu.count, memory)


def serving_for(spec: Spec, geometry: Geometry, settings: LlamaSettings) -> ServingEstimate | None:
    """Tokens/s per slot and streams at the target, from the curves measured on CPUs; None on GPUs."""
    if spec.llama.gpu.enabled:
        return None
    replicas = spec.autoscaling.max_replicas if spec.autoscaling.enabled else spec.replicas
    return estimate(geometry, settings, float(parse_cpu(spec.llama.resources.limits.cpu)), spec.llama.threads, replicas,
                    spec.capacity.target_tokens_per_second_per_user)


def platform_of(values: Values, spec: Spec) -> CpuPlatform | Problem:
    """The CPU the budget is for: `llama.cpuTarget`, else what the nodeSelector's arch implies."""
    try:
        return platform_for(spec.node_selector.get(ARCH_LABEL), spec.llama.cpu_target)
    except ValueError as err:
        return values.locate(("llama", "cpuTarget"), str(err), rule="cpu-target")


def capacity_for(spec: Spec, geometry: Geometry, platform: CpuPlatform) -> Capacity:
    """The memory budget against the container's limits (and the GPUs'), the startup window for the model's
    download, and the serving estimate."""
    settings = llama_settings(spec)
    budget, gpu = gpu_split(spec, geometry, settings, predict(geometry, settings, platform))
    resources, startup = spec.llama.resources, spec.llama.startup
    fit = compare(budget, parse_bytes(resources.limits.memory), parse_bytes(resources.requests.memory))
    window = startup_window(geometry.file_size_bytes, startup.min_download_mibps, startup.load_seconds,
                            startup.probe_period_seconds)
    return Capacity(geometry, settings, budget, fit, window, parse_cpu(resources.limits.cpu),
                    parse_bytes(spec.cache.size), gpu, platform, serving_for(spec, geometry, settings))


def build_plan(values: Values) -> Plan:
    """The plan of one environment from its validated values."""
    spec = build(Spec, values.data)
    geometry, platform = geometry_for(values, spec), platform_of(values, spec)
    problems = tuple(found for found in (geometry, platform) if isinstance(found, Problem))
    capacity = None
    if isinstance(geometry, Geometry) and isinstance(platform, CpuPlatform):
        capacity = capacity_for(spec, geometry, platform)
    return Plan(values, spec, names_for(spec.name), timeouts_for(spec.request_timeout_seconds),
                workload_kind_for(spec), proxy_limits(spec), monitoring_for(spec), capacity, problems)
