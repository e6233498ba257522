"""Guards: cross-field checks over a plan, each a small function returning problems; all are collected.

`render`, `check` and `budget` run the same `run(plan)`, so they can never disagree. What the
schema already refuses (an unknown cache type, a size below 1, a malformed quantity) is not
checked again here: these guards see only what the schema cannot express.

Every problem names its guard's ID. A warning the team has considered is acknowledged in the
values, `acknowledge: {embeddings-memory: "we serve /v1/embeddings"}`; it is then reported as
acknowledged, with the reason, and an acknowledgement of a warning that no longer fires is itself
a warning, so the values never carry a stale excuse.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace as with_

from .capacity.budget import KV_TYPES, Budget, LlamaSettings, predict
from .capacity.catalog import Geometry
from .capacity.platform import CpuPlatform
from .capacity.quantity import GiB, MiB, format_bytes, parse_bytes, parse_cpu
from .capacity.serving import replicas_for
from .plan import Capacity, Plan
from .problems import Problem, Severity

MIN_SLOT_CONTEXT = 512  # below this a chat template plus a short question already fills a slot
HEADROOM_WARNING = 0.10  # warn when less than this share of the limit is left
OCI_BLOCK_VOLUME_MIN = 50 * GiB  # OCI block volumes are at least 50 GB
EMBEDDINGS_COST_WARNING = 256 * MiB

INT32_MAX = 2**31 - 1  # Probe.failureThreshold is an int32 (k8s.io/api core/v1 Probe)

Guard = Callable[[Plan, Capacity], list[Problem]]
PlanGuard = Callable[[Plan], list[Problem]]

# The warnings a team may acknowledge in the values, and what each means; the values schema's
# `acknowledge` keys are exactly these (tests/test_guards.py keeps the two equal).
WARNINGS: dict[str, str] = {
    "memory-headroom": "less than 10% of the memory limit is left after the predicted budget",
    "memory-request": "the memory request is below weights + repacked weights + KV cache",
    "embeddings-memory": "--embeddings costs over 256 MiB of compute and output buffers",
    "context-beyond-training": "each slot gets more context than the model was trained on",
    "cache-volume-room": "the model cache volume leaves little room beside the model file",
    "oci-block-volume-minimum": "an OCI block volume under 50 GB is provisioned and billed as 50 GB",
    "service-exposed": "a NodePort or LoadBalancer Service whose traffic our NetworkPolicy does not admit",
    "serving-target": "with every slot busy, each stream is estimated to generate fewer tokens/s than "
                      "capacity.targetTokensPerSecondPerUser",
}
STALE = "stale-acknowledgement"


def _error(plan: Plan, path: str, message: str, rule: str) -> Problem:
    return Problem(plan.file, path, message, rule=rule)


def _warning(plan: Plan, path: str, message: str, rule: str) -> Problem:
    assert rule in WARNINGS, f"add {rule} to WARNINGS and to the values schema's acknowledge keys"
    return Problem(plan.file, path, message, severity=Severity.WARNING, rule=rule)


# -- the model ---------------------------------------------------------------------------------


def cache_type_problems(plan: Plan, capacity: Capacity) -> list[Problem]:
    """A quantized cache type packs whole blocks: each row of the model must fill them."""
    g, problems = capacity.geometry, []
    for key, name, head_dim in (("cacheTypeK", plan.spec.llama.cache_type_k, g.head_dim_k),
                                ("cacheTypeV", plan.spec.llama.cache_type_v, g.head_dim_v)):
        block = KV_TYPES[name][0]
        if (g.n_head_kv * head_dim) % block:
            problems.append(_error(plan, f"llama.{key}", f"{name} packs {block} values a block but this model's "
                                   f"rows hold {g.n_head_kv * head_dim}; use f16, bf16 or f32", "cache-type-blocks"))
    return problems


# -- memory ------------------------------------------------------------------------------------


def breakdown(budget: Budget) -> str:
    """`weights 769.1 MiB, kv cache 38.0 MiB, ...` for the parts that are not empty."""
    return ", ".join(f"{name} {format_bytes(size)}" for name, size in budget.parts() if size)


def limit_fixes(g: Geometry, s: LlamaSettings, budget: Budget, platform: CpuPlatform) -> list[str]:
    """Concrete changes that shrink the budget, each with what it saves."""
    options = [
        ("llama.contextSize", f"{s.context_size} → {max(MIN_SLOT_CONTEXT * s.parallel, s.context_size // 2)}",
         with_(s, context_size=max(MIN_SLOT_CONTEXT * s.parallel, s.context_size // 2))),
        ("llama.cacheTypeK/cacheTypeV", "q8_0", with_(s, cache_type_k="q8_0", cache_type_v="q8_0")),
        ("llama.cacheRamMiB", f"{s.cache_ram_mib} → 0", with_(s, cache_ram_mib=0)),
        ("llama.ctxCheckpoints", f"{s.ctx_checkpoints} → 2", with_(s, ctx_checkpoints=min(2, s.ctx_checkpoints))),
        ("llama.ubatchSize", f"{s.ubatch_size} → 128", with_(s, ubatch_size=min(128, s.ubatch_size))),
    ]
    fixes = []
    for key, change, smaller in options:
        saved = budget.total - predict(g, smaller, platform).total
        if saved > 0:
            fixes.append(f"{key} {change} saves {format_bytes(saved)}")
    return fixes


def memory_limit_problems(plan: Plan, capacity: Capacity) -> list[Problem]:
    """The budget must fit under the memory limit, with some headroom."""
    fit, budget, path = capacity.fit, capacity.budget, "llama.resources.limits.memory"
    assert fit.limit is not None  # the schema requires limits.memory
    if not fit.fits:
        fixes = limit_fixes(capacity.geometry, capacity.settings, budget, capacity.platform)
        fixes.append(f"or raise {path} to at least {math.ceil(fit.total / (256 * MiB)) * 256}Mi")
        return [_error(plan, path, f"the predicted memory {format_bytes(fit.total)} exceeds the limit "
                       f"{format_bytes(fit.limit)} by {format_bytes(fit.total - fit.limit)} "
                       f"({breakdown(budget)}); the kernel will OOM-kill llama-server. Fixes: {'; '.join(fixes)}",
                       "memory-limit")]
    if fit.headroom is not None and fit.headroom < HEADROOM_WARNING * fit.limit:
        return [_warning(plan, path, f"only {format_bytes(fit.headroom)} of {format_bytes(fit.limit)} left "
                         f"after the predicted {format_bytes(fit.total)}; "
                         f"leave {HEADROOM_WARNING:.0%} for what the model does not see", "memory-headroom")]
    return []


def memory_request_problems(plan: Plan, capacity: Capacity) -> list[Problem]:
    """The memory request should cover at least the weights and the KV cache."""
    fit = capacity.fit
    if fit.request is None or fit.request >= fit.floor:
        return []
    return [_warning(plan, "llama.resources.requests.memory", f"the request {format_bytes(fit.request)} is below "
                     f"weights + repacked weights + KV cache ({format_bytes(fit.floor)}): the scheduler may place the pod "
                     f"on a node without room for the model; request at least {math.ceil(fit.floor / MiB)}Mi",
                     "memory-request")]


def embeddings_problems(plan: Plan, capacity: Capacity) -> list[Problem]:
    """--embeddings makes every token an output: logits over the whole vocabulary for a whole batch."""
    s, g = capacity.settings, capacity.geometry
    if not s.embeddings:
        return []
    platform = capacity.platform
    cost = predict(g, s, platform).total - predict(g, with_(s, embeddings=False), platform).total
    if cost < EMBEDDINGS_COST_WARNING:
        return []
    cheaper = (predict(g, with_(s, ubatch_size=128), platform).total
               - predict(g, with_(s, ubatch_size=128, embeddings=False), platform).total)
    return [_warning(plan, "llama.embeddings", f"embeddings cost {format_bytes(cost)} here (logits for "
                     f"{s.ubatch_size} tokens x {g.n_vocab} vocabulary entries, in the compute and output buffers); "
                     f"llama.ubatchSize 128 would cut that to {format_bytes(cheaper)}, or turn embeddings off if unused",
                     "embeddings-memory")]


# -- CPU, context, storage -----------------------------------------------------------------------


def threads_problems(plan: Plan, capacity: Capacity) -> list[Problem]:
    """--threads above the CPU limit makes threads wait on each other's CFS quota."""
    threads, cores = plan.spec.llama.threads, math.ceil(capacity.cpu_limit_cores)
    if threads <= cores:
        return []
    raw = plan.spec.llama.resources.limits.cpu
    return [_error(plan, "llama.threads", f"{threads} threads exceed the CPU limit {raw} ({cores} cores): they throttle "
                   f"each other against the CFS quota and every token waits; set llama.threads to {cores} or raise the limit",
                   "threads-cpu-limit")]


def slot_context_problems(plan: Plan, capacity: Capacity) -> list[Problem]:
    """Each slot needs a usable context, and more than the model was trained on helps no one."""
    cells, g = capacity.budget.cells, capacity.geometry
    if cells.n_ctx_seq < MIN_SLOT_CONTEXT:
        return [_error(plan, "llama.contextSize", f"each of the {capacity.settings.parallel} slots gets {cells.n_ctx_seq} "
                       f"tokens of context, below {MIN_SLOT_CONTEXT}; raise llama.contextSize, lower llama.parallel, "
                       "or set llama.kvUnified: true so slots share one pool", "slot-context")]
    if cells.n_ctx_seq > g.n_ctx_train:
        return [_warning(plan, "llama.contextSize", f"each slot gets {cells.n_ctx_seq} tokens but the model was trained on "
                         f"{g.n_ctx_train}; llama.cpp warns of training context overflow and quality degrades",
                         "context-beyond-training")]
    return []


def is_oci_block_class(storage_class: str) -> bool:
    """OCI's block volume storage classes: oci, oci-bv and oci-bv-*."""
    return storage_class in ("oci", "oci-bv") or storage_class.startswith("oci-bv-")


def cache_volume_problems(plan: Plan, capacity: Capacity) -> list[Problem]:
    """The model cache volume must hold the GGUF; OCI rounds small block volumes up to 50 GB."""
    size, need, problems = capacity.cache_size_bytes, capacity.geometry.file_size_bytes, []
    if size < need:
        problems.append(_error(plan, "cache.size", f"{format_bytes(size)} cannot hold the {format_bytes(need)} model "
                               f"file; set cache.size to at least {math.ceil(need * 1.25 / GiB)}Gi", "cache-volume-size"))
    elif size < need * 1.25:
        problems.append(_warning(plan, "cache.size", f"{format_bytes(size)} leaves little room beside the "
                                 f"{format_bytes(need)} model file for a partial download and filesystem overhead",
                                 "cache-volume-room"))
    if is_oci_block_class(plan.spec.cache.storage_class) and size < OCI_BLOCK_VOLUME_MIN:
        problems.append(_warning(plan, "cache.size", f"OCI block volumes are at least 50 GB: this {plan.spec.cache.size} "
                                 "claim is provisioned and billed as 50 GB; set cache.size: 50Gi to say so",
                                 "oci-block-volume-minimum"))
    return problems


# -- what the API server or the processes would refuse -------------------------------------------


def requests_within_limits_problems(plan: Plan) -> list[Problem]:
    """A request above its limit: the API server refuses the pod ("must be less than or equal to cpu
    limit", ValidateResourceRequirements in kubernetes pkg/apis/core/validation)."""
    problems = []
    for container, resources in (("llama", plan.spec.llama.resources), ("proxy", plan.spec.proxy.resources)):
        for name, parse in (("cpu", parse_cpu), ("memory", parse_bytes)):
            request, limit = getattr(resources.requests, name), getattr(resources.limits, name)
            if parse(request) > parse(limit):
                problems.append(_error(plan, f"{container}.resources.requests.{name}", f"the request {request} is above "
                                       f"the limit {limit}; the API server refuses a pod whose {name} request exceeds its "
                                       "limit", "requests-within-limits"))
    return problems


def autoscaling_range_problems(plan: Plan) -> list[Problem]:
    """minReplicas above maxReplicas: the API server refuses the HorizontalPodAutoscaler ("must be greater
    than or equal to `minReplicas`", kubernetes pkg/apis/autoscaling/validation)."""
    scaling = plan.spec.autoscaling
    if not scaling.enabled or scaling.min_replicas <= scaling.max_replicas:
        return []
    return [_error(plan, "autoscaling.minReplicas", f"minReplicas {scaling.min_replicas} is above maxReplicas "
                   f"{scaling.max_replicas}; the API server refuses the HorizontalPodAutoscaler", "autoscaling-range")]


def distinct_ports_problems(plan: Plan) -> list[Problem]:
    """The two containers share the pod's network namespace: one port each (and the metrics port its own),
    or the second cannot bind."""
    spec = plan.spec
    ports = [("llama.port", spec.llama.port), ("proxy.port", spec.proxy.port)]
    if spec.metrics.enabled:
        ports.append(("metrics.port", spec.metrics.port))
    problems = []
    for i, (path, port) in enumerate(ports):
        for other, other_port in ports[:i]:
            if port == other_port:
                problems.append(_error(plan, path, f"{other} and {path} are both {port}; the containers share the "
                                       "pod's network, so the second to start cannot listen (choose two ports)",
                                       "distinct-ports"))
    return problems


def metrics_needed_problems(plan: Plan) -> list[Problem]:
    """A PodMonitor, PrometheusRule or dashboard without metrics would scrape and chart nothing."""
    metrics = plan.spec.metrics
    if metrics.enabled:
        return []
    wanted = [("podMonitor", metrics.pod_monitor.enabled), ("prometheusRule", metrics.prometheus_rule.enabled),
              ("dashboard", metrics.dashboard.enabled)]
    return [_error(plan, f"metrics.{name}.enabled", f"metrics.{name} needs metrics.enabled: with metrics off nothing "
                   "serves what it reads", "metrics-needed") for name, on in wanted if on]


def startup_window_problems(plan: Plan, capacity: Capacity) -> list[Problem]:
    """The startupProbe's failureThreshold is an int32; a window beyond it cannot be written."""
    threshold = capacity.startup.failure_threshold
    if threshold <= INT32_MAX:
        return []
    return [_error(plan, "llama.startup.minDownloadMiBps", f"the startup window needs a failureThreshold of {threshold}, "
                   f"beyond the {INT32_MAX} a probe can hold; raise llama.startup.minDownloadMiBps or "
                   "llama.startup.probePeriodSeconds", "startup-window")]


# -- the auth proxy ---------------------------------------------------------------------------------


def proxy_memory_problems(plan: Plan) -> list[Problem]:
    """The proxy's connections and requests in flight, each at its measured worst, must fit its memory limit,
    and there must be connections enough for the requests in flight."""
    limits, proxy = plan.proxy_limits, plan.spec.proxy
    if limits.worker_connections < limits.needed_connections:
        return [_error(plan, "proxy.workerConnections", f"{limits.worker_connections} worker connections are fewer than "
                       f"the {limits.needed_connections} that {limits.concurrent_requests} requests in flight (two each) "
                       "and the upstream pool need; lower proxy.limits.concurrentRequests or proxy.upstreamKeepalive, or "
                       "raise proxy.workerConnections or proxy.resources.limits.memory", "proxy-memory")]
    if limits.worker_connections > limits.fitting_connections:
        return [_error(plan, "proxy.resources.limits.memory", f"{limits.worker_connections} worker connections and "
                       f"{limits.concurrent_requests} requests in flight need {limits.memory_worst_bytes / MiB:.1f} MiB at "
                       f"worst, over {limits.memory_usable_bytes / MiB:.1f} MiB (75% of {proxy.resources.limits.memory}); "
                       "lower proxy.workerConnections, proxy.limits.concurrentRequests or proxy.limits.completionBodyKiB, "
                       "or raise the limit", "proxy-memory")]
    return []


# -- GPU and exposure ----------------------------------------------------------------------------


def gpu_memory_problems(plan: Plan, capacity: Capacity) -> list[Problem]:
    """The fullest GPU must hold its share of the offloaded layers and KV cache, the compute buffer and CUDA's own."""
    gpu = capacity.gpu
    if gpu is None or gpu.memory is None or gpu.fits:
        return []  # no GPU, or one whose memory is unknown (generator/conflicts.py refuses that)
    parts = ", ".join(f"{name} {format_bytes(size)}" for name, size in gpu.parts())
    return [_error(plan, "llama.gpuLayers", f"the fullest GPU needs {format_bytes(gpu.per_gpu)} ({parts}) but has "
                   f"{format_bytes(gpu.memory)}: lower llama.gpuLayers (the rest runs on the CPU), shrink the context "
                   "or the KV cache type, or add GPUs (llama.gpu.count) or a larger card", "gpu-memory")]


def service_exposure_problems(plan: Plan, capacity: Capacity) -> list[Problem]:
    """A NodePort or LoadBalancer Service brings traffic our NetworkPolicy drops: it admits only the edge proxies."""
    kind = plan.spec.service.type
    if kind == "ClusterIP":
        return []
    return [_warning(plan, "service.type", f"a {kind} Service sends traffic from outside the cluster straight to the "
                     f"pod, which our NetworkPolicy drops: it admits only namespace {plan.edge_namespace!r}. Admit that "
                     f"traffic with a NetworkPolicy in values/{plan.env}/extra/, or keep ClusterIP", "service-exposed")]


# -- serving speed -------------------------------------------------------------------------------


def serving_target_problems(plan: Plan, capacity: Capacity) -> list[Problem]:
    """Every slot busy, each stream should still reach the target tokens/s (an estimate: capacity/serving.py)."""
    est = capacity.serving
    if est is None or est.meets_target:
        return []
    path, target = "capacity.targetTokensPerSecondPerUser", est.target_tps
    basis = f"an estimate at {est.cores:g} cores, {est.label}, scaled to this model by bytes read per token"
    if est.streams_at_target == 0:
        return [_warning(plan, path, f"even one stream gets about {est.single_tps:.1f} tokens/s, below the target "
                         f"{target:g} ({basis}): no llama.parallel or replica count reaches it; raise the CPU limit, "
                         "serve a smaller model, or lower the target", "serving-target")]
    users = est.slots * est.replicas
    return [_warning(plan, path, f"with all {est.slots} slots busy each stream gets about {est.per_slot_tps:.1f} "
                     f"tokens/s, below the target {target:g} ({basis}); one pod holds {est.streams_at_target} streams "
                     f"at the target: set llama.parallel to {est.streams_at_target} and run "
                     f"{replicas_for(users, est.streams_at_target)} replicas to serve {users} users at once",
                     "serving-target")]


# -- the entry point -----------------------------------------------------------------------------

PLAN_GUARDS: tuple[PlanGuard, ...] = (requests_within_limits_problems, autoscaling_range_problems, distinct_ports_problems,
                                      proxy_memory_problems, metrics_needed_problems)
GUARDS: tuple[Guard, ...] = (
    cache_type_problems, memory_limit_problems, memory_request_problems, embeddings_problems,
    threads_problems, slot_context_problems, cache_volume_problems, startup_window_problems, gpu_memory_problems,
    service_exposure_problems, serving_target_problems,
)


def run(plan: Plan) -> tuple[Problem, ...]:
    """Every guard over one plan, in guard order, with the values' acknowledgements applied; collect,
    never stop at the first."""
    found = (*plan.problems, *(p for guard in PLAN_GUARDS for p in guard(plan)))
    if plan.capacity is not None:
        found = (*found, *(p for guard in GUARDS for p in guard(plan, plan.capacity)))
    return acknowledge(plan, found)


def acknowledge(plan: Plan, problems: tuple[Problem, ...]) -> tuple[Problem, ...]:
    """Warnings the values acknowledge become acknowledged (with the reason); an acknowledgement
    that no warning answers is a warning of its own."""
    reasons = plan.spec.acknowledge
    out = tuple(with_(p, severity=Severity.ACKNOWLEDGED, message=f"{p.message} (acknowledged: {reasons[p.rule]})")
                if p.severity is Severity.WARNING and p.rule in reasons else p for p in problems)
    fired = {p.rule for p in problems if p.severity is Severity.WARNING}
    stale = [Problem(plan.file, f"acknowledge.{rule}", f"acknowledges a warning that no longer fires here "
                     f"({WARNINGS[rule]}); remove it", severity=Severity.WARNING, rule=STALE)
             for rule in reasons if rule not in fired]
    return (*out, *stale)
