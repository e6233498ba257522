"""Cross-field guards over an environment's values: each finds errors and warnings, all are collected."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any

from ..errors import Problem
from .budget import (
    KV_TYPES,
    Budget,
    Fit,
    LlamaSettings,
    compare,
    predict,
    settings_from_values,
)
from .catalog import Geometry, geometry_from_values, geometry_problems, lookup
from .quantity import GiB, MiB, QuantityError, format_bytes, parse_bytes, parse_cpu
from .startup import StartupWindow, startup_window

MIN_SLOT_CONTEXT = 512  # below this a chat template plus a short question already fills a slot
HEADROOM_WARNING = 0.10  # warn when less than this share of the limit is left
OCI_BLOCK_VOLUME_MIN = 50 * GiB  # OCI block volumes are at least 50 GB
EMBEDDINGS_COST_WARNING = 256 * MiB
TIMEOUT_SLACK_SECONDS = 5  # an outer hop should wait this much longer than the hop inside it
SHARED_VOLUME_MODES = frozenset({"ReadWriteOnce", "ReadWriteOncePod"})


class Level(Enum):
    """How bad a finding is."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Finding:
    """One guard's verdict on one key path."""

    level: Level
    problem: Problem


@dataclass(frozen=True)
class Timeouts:
    """Seconds each hop waits for an answer, outermost first."""

    gateway_seconds: float
    nginx_seconds: float
    llama_seconds: float


@dataclass(frozen=True)
class Subject:
    """What the guards look at: the values, their file, and what the budget made of them."""

    values: Mapping[str, Any]
    file: str
    geometry: Geometry
    settings: LlamaSettings
    budget: Budget
    fit: Fit


@dataclass(frozen=True)
class CapacityReport:
    """Every error and warning about an environment's capacity, and its budget when one was computed."""

    errors: tuple[Problem, ...]
    warnings: tuple[Problem, ...]
    budget: Budget | None
    fit: Fit | None = None
    startup: StartupWindow | None = None


def dig(values: Mapping[str, Any], path: str, default: Any = None) -> Any:
    """The value at a dotted key path, or `default` when any part is missing."""
    node: Any = values
    for key in path.split("."):
        if not isinstance(node, Mapping) or key not in node:
            return default
        node = node[key]
    return node


def _error(file: str, path: str, message: str) -> Finding:
    """An error at a key path."""
    return Finding(Level.ERROR, Problem(file, path, message))


def _warning(file: str, path: str, message: str) -> Finding:
    """A warning at a key path."""
    return Finding(Level.WARNING, Problem(file, path, message))


# -- the model ---------------------------------------------------------------------------------


def resolve_geometry(values: Mapping[str, Any], file: str) -> tuple[Geometry | None, list[Finding]]:
    """The model's geometry: `model.geometry` when given, else the catalog's entry for (hfRepo, hfFile)."""
    raw = dig(values, "model.geometry")
    if isinstance(raw, Mapping):
        wrong = geometry_problems(raw)
        if wrong:
            return None, [_error(file, f"model.geometry.{key}", message) for key, message in wrong]
        return geometry_from_values(raw), []
    repo, name = dig(values, "model.hfRepo", ""), dig(values, "model.hfFile", "")
    entry = lookup(str(repo), str(name))
    if entry is None:
        return None, [_error(file, "model.geometry", f"{repo}/{name} is not in the model catalog, so model.geometry is "
                             "required: run `gemma-gitops inspect FILE.gguf` and paste its output under model.geometry")]
    return entry.geometry, []


def cache_type_findings(values: Mapping[str, Any], file: str, geometry: Geometry) -> list[Finding]:
    """Cache types llama-server accepts, and rows that fit whole quantization blocks."""
    findings = []
    for key, head_dim in (("cacheTypeK", geometry.head_dim_k), ("cacheTypeV", geometry.head_dim_v)):
        name = dig(values, f"llama.{key}", "f16")
        if name not in KV_TYPES:
            findings.append(_error(file, f"llama.{key}", f"{name!r} is not a KV cache type; use one of {', '.join(KV_TYPES)}"))
        elif (geometry.n_head_kv * head_dim) % KV_TYPES[name][0]:
            findings.append(_error(file, f"llama.{key}", f"{name} packs {KV_TYPES[name][0]} values a block but this model's "
                                   f"rows hold {geometry.n_head_kv * head_dim}; use f16, bf16 or f32"))
    return findings


def positive_findings(values: Mapping[str, Any], file: str) -> list[Finding]:
    """Sizes llama-server divides by or allocates with must be at least 1 (the schema says so too)."""
    keys = ("contextSize", "batchSize", "ubatchSize", "parallel")
    return [_error(file, f"llama.{key}", f"{dig(values, f'llama.{key}')!r} must be an integer of at least 1")
            for key in keys if not isinstance(dig(values, f"llama.{key}", 1), int) or dig(values, f"llama.{key}", 1) < 1]


# -- memory ------------------------------------------------------------------------------------


def _quantity(values: Mapping[str, Any], file: str, path: str, findings: list[Finding]) -> int | None:
    """A memory quantity at `path` in bytes; None when unset or invalid (then a finding says why)."""
    raw = dig(values, path)
    if raw is None:
        return None
    try:
        return parse_bytes(raw)
    except QuantityError as err:
        findings.append(_error(file, path, str(err)))
        return None


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


def memory_limit_findings(subject: Subject) -> list[Finding]:
    """The budget must fit under the memory limit, with some headroom."""
    fit, budget, file, path = subject.fit, subject.budget, subject.file, "llama.resources.limits.memory"
    if fit.limit is None:
        return [_warning(file, path, f"no memory limit: the predicted {format_bytes(fit.total)} cannot be checked "
                         "and one pod can starve the node")]
    if not fit.fits:
        fixes = limit_fixes(subject.geometry, subject.settings, budget)
        fixes.append(f"or raise {path} to at least {math.ceil(fit.total / (256 * MiB)) * 256}Mi")
        return [_error(file, path, f"the predicted memory {format_bytes(fit.total)} exceeds the limit "
                       f"{format_bytes(fit.limit)} by {format_bytes(fit.total - fit.limit)} "
                       f"({breakdown(budget)}); the kernel will OOM-kill llama-server. Fixes: {'; '.join(fixes)}")]
    if fit.headroom is not None and fit.headroom < HEADROOM_WARNING * fit.limit:
        return [_warning(file, path, f"only {format_bytes(fit.headroom)} of {format_bytes(fit.limit)} left "
                         f"after the predicted {format_bytes(fit.total)}; "
                         f"leave {HEADROOM_WARNING:.0%} for what the model does not see")]
    return []


def memory_request_findings(subject: Subject) -> list[Finding]:
    """The memory request should cover at least the weights and the KV cache."""
    fit, path = subject.fit, "llama.resources.requests.memory"
    if fit.request is None or fit.request >= fit.floor:
        return []
    return [_warning(subject.file, path, f"the request {format_bytes(fit.request)} is below weights + KV cache "
                     f"({format_bytes(fit.floor)}): the scheduler may place the pod on a node without room for the model; "
                     f"request at least {math.ceil(fit.floor / MiB)}Mi")]


def embeddings_findings(subject: Subject) -> list[Finding]:
    """--embeddings makes every token an output: logits over the whole vocabulary for a whole batch."""
    s, g = subject.settings, subject.geometry
    if not s.embeddings:
        return []
    cost = predict(g, s).total - predict(g, replace(s, embeddings=False)).total
    if cost < EMBEDDINGS_COST_WARNING:
        return []
    cheaper = predict(g, replace(s, ubatch_size=128)).total - predict(g, replace(s, ubatch_size=128, embeddings=False)).total
    return [_warning(subject.file, "llama.embeddings", f"embeddings cost {format_bytes(cost)} here (logits for "
                     f"{s.ubatch_size} tokens x {g.n_vocab} vocabulary entries, in the compute and output buffers); "
                     f"llama.ubatchSize 128 would cut that to {format_bytes(cheaper)}, or turn embeddings off if unused")]


def checkpoint_findings(subject: Subject) -> list[Finding]:
    """Sliding-window models make llama-server keep context checkpoints; leaving their count to llama.cpp costs memory."""
    checkpoints, s = subject.budget.checkpoints, subject.settings
    if checkpoints == 0 or dig(subject.values, "llama.ctxCheckpoints") is not None:
        return []
    two = predict(subject.geometry, replace(s, ctx_checkpoints=2)).checkpoints
    return [_warning(subject.file, "llama.ctxCheckpoints", f"unset: llama-server keeps up to {s.ctx_checkpoints} context "
                     f"checkpoints per slot for this sliding-window model, budgeted at {format_bytes(checkpoints)}; "
                     f"llama.ctxCheckpoints: 2 would hold {format_bytes(two)}")]


# -- CPU, context, storage -----------------------------------------------------------------------


def threads_findings(subject: Subject) -> list[Finding]:
    """--threads above the CPU limit makes threads wait on each other's CFS quota."""
    values, file = subject.values, subject.file
    raw, threads = dig(values, "llama.resources.limits.cpu"), dig(values, "llama.threads")
    if raw is None or threads is None:
        return []
    try:
        cores = math.ceil(parse_cpu(raw))
    except QuantityError as err:
        return [_error(file, "llama.resources.limits.cpu", str(err))]
    if threads <= cores:
        return []
    return [_error(file, "llama.threads", f"{threads} threads exceed the CPU limit {raw} ({cores} cores): they throttle "
                   f"each other against the CFS quota and every token waits; set llama.threads to {cores} or raise the limit")]


def slot_context_findings(subject: Subject) -> list[Finding]:
    """Each slot needs a usable context, and more than the model was trained on helps no one."""
    cells, g, file = subject.budget.cells, subject.geometry, subject.file
    if cells.n_ctx_seq < MIN_SLOT_CONTEXT:
        return [_error(file, "llama.contextSize", f"each of the {subject.settings.parallel} slots gets {cells.n_ctx_seq} "
                       f"tokens of context, below {MIN_SLOT_CONTEXT}; raise llama.contextSize, lower llama.parallel, "
                       "or set llama.kvUnified: true so slots share one pool")]
    if cells.n_ctx_seq > g.n_ctx_train:
        return [_warning(file, "llama.contextSize", f"each slot gets {cells.n_ctx_seq} tokens but the model was trained on "
                         f"{g.n_ctx_train}; llama.cpp warns of training context overflow and quality degrades")]
    return []


def is_oci_block_class(storage_class: str) -> bool:
    """OCI's block volume storage classes: oci, oci-bv and oci-bv-*."""
    return storage_class in ("oci", "oci-bv") or storage_class.startswith("oci-bv-")


def cache_volume_findings(subject: Subject) -> list[Finding]:
    """The model cache volume must hold the GGUF; OCI rounds small block volumes up to 50 GB."""
    findings: list[Finding] = []
    size = _quantity(subject.values, subject.file, "cache.size", findings)
    if size is None:
        return findings
    need = subject.geometry.file_size_bytes
    if size < need:
        findings.append(_error(subject.file, "cache.size", f"{format_bytes(size)} cannot hold the {format_bytes(need)} model "
                               f"file; set cache.size to at least {math.ceil(need * 1.25 / GiB)}Gi"))
    elif size < need * 1.25:
        findings.append(_warning(subject.file, "cache.size", f"{format_bytes(size)} leaves little room beside the "
                                 f"{format_bytes(need)} model file for a partial download and filesystem overhead"))
    if is_oci_block_class(str(dig(subject.values, "cache.storageClass", ""))) and size < OCI_BLOCK_VOLUME_MIN:
        claim = dig(subject.values, "cache.size")
        findings.append(_warning(subject.file, "cache.size", f"OCI block volumes are at least 50 GB: this {claim} "
                                 "claim is provisioned and billed as 50 GB; set cache.size: 50Gi to say so"))
    return findings


# -- guards the renderer calls with what only it knows ---------------------------------------------


def shared_volume_problems(values: Mapping[str, Any], file: str, workload_kind: str) -> list[Problem]:
    """A Deployment's replicas all mount the one cache claim: RWO lets only one node attach it."""
    replicas, mode = dig(values, "replicas", 1), dig(values, "cache.accessMode", "ReadWriteOnce")
    if workload_kind != "Deployment" or replicas <= 1 or mode not in SHARED_VOLUME_MODES:
        return []
    return [Problem(file, "replicas", f"{replicas} replicas of a Deployment share one {mode} cache volume: pods on a "
                    "second node stay Pending with a Multi-Attach error; use replicas: 1, one volume per replica "
                    "(StatefulSet), or cache.accessMode: ReadWriteMany")]


def timeout_problems(file: str, timeouts: Timeouts, path: str = "requestTimeoutSeconds") -> tuple[list[Problem], list[Problem]]:
    """(errors, warnings): each hop must wait longer than the hop inside it, or clients get 504s for work still running."""
    hops = (("gateway", timeouts.gateway_seconds), ("nginx", timeouts.nginx_seconds), ("llama-server", timeouts.llama_seconds))
    errors = [Problem(file, path, f"the {name} timeout must be positive, got {seconds}")
              for name, seconds in hops if seconds <= 0]
    warnings = []
    for (outer, outer_s), (inner, inner_s) in itertools.pairwise(hops):
        if outer_s < inner_s:
            errors.append(Problem(file, path, f"the {outer} gives up after {outer_s:g}s, before the {inner} ({inner_s:g}s): "
                                  f"clients get a 504 while the {inner} keeps working; make the {outer} wait longer"))
        elif outer_s - inner_s < TIMEOUT_SLACK_SECONDS:
            warnings.append(Problem(file, path, f"the {outer} ({outer_s:g}s) and the {inner} ({inner_s:g}s) time out "
                                    f"together and race; give the {outer} at least {TIMEOUT_SLACK_SECONDS}s more"))
    return errors, warnings


# -- the entry point -----------------------------------------------------------------------------


GUARDS: tuple[Callable[[Subject], list[Finding]], ...] = (
    memory_limit_findings, memory_request_findings, embeddings_findings, checkpoint_findings,
    threads_findings, slot_context_findings, cache_volume_findings,
)


def startup_for(values: Mapping[str, Any], geometry: Geometry) -> StartupWindow | None:
    """The startupProbe window for these values, when the `llama.startup` block is complete."""
    startup = dig(values, "llama.startup", {})
    keys = ("minDownloadMiBps", "loadSeconds", "probePeriodSeconds")
    if not isinstance(startup, Mapping) or any(key not in startup for key in keys):
        return None
    return startup_window(geometry.file_size_bytes, startup["minDownloadMiBps"], startup["loadSeconds"],
                          startup["probePeriodSeconds"])


def _subject(values: Mapping[str, Any], file: str, geometry: Geometry, findings: list[Finding]) -> Subject:
    """Predict the budget and compare it with the container's memory settings."""
    settings = settings_from_values(dig(values, "llama", {}))
    budget = predict(geometry, settings)
    limit = _quantity(values, file, "llama.resources.limits.memory", findings)
    request = _quantity(values, file, "llama.resources.requests.memory", findings)
    return Subject(values, file, geometry, settings, budget, compare(budget, limit, request))


def _report(findings: list[Finding], subject: Subject | None, startup: StartupWindow | None = None) -> CapacityReport:
    """Split findings into errors and warnings, keeping their order."""
    errors = tuple(f.problem for f in findings if f.level is Level.ERROR)
    warnings = tuple(f.problem for f in findings if f.level is Level.WARNING)
    return CapacityReport(errors, warnings, subject.budget if subject else None, subject.fit if subject else None, startup)


def check_values(v: Mapping[str, Any], file: str, timeouts: Timeouts | None = None) -> CapacityReport:
    """Run every capacity guard over an environment's merged values; collect, never stop at the first."""
    geometry, findings = resolve_geometry(v, file)
    if geometry is None:
        return _report(findings, None)
    findings += cache_type_findings(v, file, geometry) + positive_findings(v, file)
    if findings:
        return _report(findings, None)
    subject = _subject(v, file, geometry, findings)
    for guard in GUARDS:
        findings += guard(subject)
    if timeouts is not None:
        errors, warnings = timeout_problems(file, timeouts)
        findings += [Finding(Level.ERROR, p) for p in errors] + [Finding(Level.WARNING, p) for p in warnings]
    try:
        startup = startup_for(v, geometry)
    except ValueError as err:
        startup, findings = None, [*findings, _error(file, "llama.startup", str(err))]
    return _report(findings, subject, startup)


def iter_problems(report: CapacityReport) -> Iterator[tuple[Level, Problem]]:
    """Errors first, then warnings, as (level, problem)."""
    yield from ((Level.ERROR, p) for p in report.errors)
    yield from ((Level.WARNING, p) for p in report.warnings)
