"""Guards: cross-field checks over a plan, each a small function returning problems; all are collected.

`render`, `check` and `budget` run the same `run(plan)`, so they can never disagree. What the
schema already refuses (an unknown cache type, a size below 1, a malformed quantity) is not
checked again here: these guards see only what the schema cannot express.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace

from .capacity.budget import KV_TYPES, Budget, LlamaSettings, predict
from .capacity.catalog import Geometry
from .capacity.quantity import GiB, MiB, format_bytes
from .plan import Capacity, Plan
from .problems import Problem, Severity

MIN_SLOT_CONTEXT = 512  # below this a chat template plus a short question already fills a slot
HEADROOM_WARNING = 0.10  # warn when less than this share of the limit is left
OCI_BLOCK_VOLUME_MIN = 50 * GiB  # OCI block volumes are at least 50 GB
EMBEDDINGS_COST_WARNING = 256 * MiB

Guard = Callable[[Plan, Capacity], list[Problem]]


def _error(plan: Plan, path: str, message: str) -> Problem:
    return Problem(plan.file, path, message)


def _warning(plan: Plan, path: str, message: str) -> Problem:
    return Problem(plan.file, path, message, severity=Severity.WARNING)


# -- the model ---------------------------------------------------------------------------------


def cache_type_problems(plan: Plan, capacity: Capacity) -> list[Problem]:
    """A quantized cache type packs whole blocks: each row of the model must fill them."""
    g, problems = capacity.geometry, []
    for key, name, head_dim in (("cacheTypeK", plan.spec.llama.cache_type_k, g.head_dim_k),
                                ("cacheTypeV", plan.spec.llama.cache_type_v, g.head_dim_v)):
        block = KV_TYPES[name][0]
        if (g.n_head_kv * head_dim) % block:
            problems.append(_error(plan, f"llama.{key}", f"{name} packs {block} values a block but this model's "
                                   f"rows hold {g.n_head_kv * head_dim}; use f16, bf16 or f32"))
    return problems


# -- memory ------------------------------------------------------------------------------------


def breakdown(budget: Budget) -> str:
    """`weights 769.1 MiB, kv cache 38.0 MiB, ...` for the parts that are not empty."""
    return ", ".join(f"{name} {format_bytes(size)}" for name, size in budget.parts() if size)


def limit_fixes(g: Geometry, s: LlamaSettings, budget: Budget) -> list[str]:
    """Concrete changes that shrink the budget, each with what it saves."""
    options = [
        ("llama.contextSize", f"{s.context_size} → {max(MIN_SLOT_CONTEXT * s.parallel, s.context_size // 2)}",
         replace(s, context_size=max(MIN_SLOT_CONTEXT * s.parallel, s.context_size // 2))),
        ("llama.cacheTypeK/cacheTypeV", "q8_0", replace(s, cache_type_k="q8_0", cache_type_v="q8_0")),
        ("llama.cacheRamMiB", f"{s.cache_ram_mib} → 0", replace(s, cache_ram_mib=0)),
        ("llama.ctxCheckpoints", f"{s.ctx_checkpoints} → 2", replace(s, ctx_checkpoints=min(2, s.ctx_checkpoints))),
        ("llama.ubatchSize", f"{s.ubatch_size} → 128", replace(s, ubatch_size=min(128, s.ubatch_size))),
    ]
    fixes = []
    for key, change, smaller in options:
        saved = budget.total - predict(g, smaller).total
        if saved > 0:
            fixes.append(f"{key} {change} saves {format_bytes(saved)}")
    return fixes


def memory_limit_problems(plan: Plan, capacity: Capacity) -> list[Problem]:
    """The budget must fit under the memory limit, with some headroom."""
    fit, budget, path = capacity.fit, capacity.budget, "llama.resources.limits.memory"
    assert fit.limit is not None  # the schema requires limits.memory
    if not fit.fits:
        fixes = limit_fixes(capacity.geometry, capacity.settings, budget)
        fixes.append(f"or raise {path} to at least {math.ceil(fit.total / (256 * MiB)) * 256}Mi")
        return [_error(plan, path, f"the predicted memory {format_bytes(fit.total)} exceeds the limit "
                       f"{format_bytes(fit.limit)} by {format_bytes(fit.total - fit.limit)} "
                       f"({breakdown(budget)}); the kernel will OOM-kill llama-server. Fixes: {'; '.join(fixes)}")]
    if fit.headroom is not None and fit.headroom < HEADROOM_WARNING * fit.limit:
        return [_warning(plan, path, f"only {format_bytes(fit.headroom)} of {format_bytes(fit.limit)} left "
                         f"after the predicted {format_bytes(fit.total)}; "
                         f"leave {HEADROOM_WARNING:.0%} for what the model does not see")]
    return []


def memory_request_problems(plan: Plan, capacity: Capacity) -> list[Problem]:
    """The memory request should cover at least the weights and the KV cache."""
    fit = capacity.fit
    if fit.request is None or fit.request >= fit.floor:
        return []
    return [_warning(plan, "llama.resources.requests.memory", f"the request {format_bytes(fit.request)} is below "
                     f"weights + KV cache ({format_bytes(fit.floor)}): the scheduler may place the pod on a node "
                     f"without room for the model; request at least {math.ceil(fit.floor / MiB)}Mi")]


def embeddings_problems(plan: Plan, capacity: Capacity) -> list[Problem]:
    """--embeddings makes every token an output: logits over the whole vocabulary for a whole batch."""
    s, g = capacity.settings, capacity.geometry
    if not s.embeddings:
        return []
    cost = predict(g, s).total - predict(g, replace(s, embeddings=False)).total
    if cost < EMBEDDINGS_COST_WARNING:
        return []
    cheaper = predict(g, replace(s, ubatch_size=128)).total - predict(g, replace(s, ubatch_size=128, embeddings=False)).total
    return [_warning(plan, "llama.embeddings", f"embeddings cost {format_bytes(cost)} here (logits for "
                     f"{s.ubatch_size} tokens x {g.n_vocab} vocabulary entries, in the compute and output buffers); "
                     f"llama.ubatchSize 128 would cut that to {format_bytes(cheaper)}, or turn embeddings off if unused")]


# -- CPU, context, storage -----------------------------------------------------------------------


def threads_problems(plan: Plan, capacity: Capacity) -> list[Problem]:
    """--threads above the CPU limit makes threads wait on each other's CFS quota."""
    threads, cores = plan.spec.llama.threads, math.ceil(capacity.cpu_limit_cores)
    if threads <= cores:
        return []
    raw = plan.spec.llama.resources.limits.cpu
    return [_error(plan, "llama.threads", f"{threads} threads exceed the CPU limit {raw} ({cores} cores): they throttle "
                   f"each other against the CFS quota and every token waits; set llama.threads to {cores} or raise the limit")]


def slot_context_problems(plan: Plan, capacity: Capacity) -> list[Problem]:
    """Each slot needs a usable context, and more than the model was trained on helps no one."""
    cells, g = capacity.budget.cells, capacity.geometry
    if cells.n_ctx_seq < MIN_SLOT_CONTEXT:
        return [_error(plan, "llama.contextSize", f"each of the {capacity.settings.parallel} slots gets {cells.n_ctx_seq} "
                       f"tokens of context, below {MIN_SLOT_CONTEXT}; raise llama.contextSize, lower llama.parallel, "
                       "or set llama.kvUnified: true so slots share one pool")]
    if cells.n_ctx_seq > g.n_ctx_train:
        return [_warning(plan, "llama.contextSize", f"each slot gets {cells.n_ctx_seq} tokens but the model was trained on "
                         f"{g.n_ctx_train}; llama.cpp warns of training context overflow and quality degrades")]
    return []


def is_oci_block_class(storage_class: str) -> bool:
    """OCI's block volume storage classes: oci, oci-bv and oci-bv-*."""
    return storage_class in ("oci", "oci-bv") or storage_class.startswith("oci-bv-")


def cache_volume_problems(plan: Plan, capacity: Capacity) -> list[Problem]:
    """The model cache volume must hold the GGUF; OCI rounds small block volumes up to 50 GB."""
    size, need, problems = capacity.cache_size_bytes, capacity.geometry.file_size_bytes, []
    if size < need:
        problems.append(_error(plan, "cache.size", f"{format_bytes(size)} cannot hold the {format_bytes(need)} model "
                               f"file; set cache.size to at least {math.ceil(need * 1.25 / GiB)}Gi"))
    elif size < need * 1.25:
        problems.append(_warning(plan, "cache.size", f"{format_bytes(size)} leaves little room beside the "
                                 f"{format_bytes(need)} model file for a partial download and filesystem overhead"))
    if is_oci_block_class(plan.spec.cache.storage_class) and size < OCI_BLOCK_VOLUME_MIN:
        problems.append(_warning(plan, "cache.size", f"OCI block volumes are at least 50 GB: this {plan.spec.cache.size} "
                                 "claim is provisioned and billed as 50 GB; set cache.size: 50Gi to say so"))
    return problems


# -- the entry point -----------------------------------------------------------------------------

GUARDS: tuple[Guard, ...] = (
    cache_type_problems, memory_limit_problems, memory_request_problems, embeddings_problems,
    threads_problems, slot_context_problems, cache_volume_problems,
)


def run(plan: Plan) -> tuple[Problem, ...]:
    """Every guard over one plan, errors and warnings in guard order; collect, never stop at the first."""
    if plan.capacity is None:
        return plan.problems
    return (*plan.problems, *(p for guard in GUARDS for p in guard(plan, plan.capacity)))
