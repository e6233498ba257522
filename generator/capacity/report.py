"""Show a budget: a table, a proportional bar against the memory limit, or JSON."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ..problems import Problem, Severity
from .budget import Budget, Fit
from .gpu import GpuBudget
from .quantity import MiB, format_bytes
from .serving import ServingEstimate
from .startup import StartupWindow

# One glyph per budget part in the bar, in Budget.parts() order; '.' is free room under the limit.
GLYPHS = {"weights": "W", "repack": "w", "kv cache": "K", "compute": "C", "outputs": "O",
          "prompt cache": "P", "checkpoints": "X", "overhead": "R"}
FREE_GLYPH = "."
OVER_GLYPH = "!"
BAR_WIDTH = 60


@dataclass(frozen=True)
class EnvironmentBudget:
    """One environment's budget, startup window and guard problems, with the names the output shows."""

    name: str
    file: str
    model: str
    budget: Budget | None  # None when the model's geometry is unknown (a problem says so)
    fit: Fit | None
    startup: StartupWindow | None
    problems: tuple[Problem, ...]
    gpu: GpuBudget | None = None  # with llama.gpu: the GPUs' side (`budget` is then the RAM side)
    serving: ServingEstimate | None = None  # tokens/s per slot, estimated (None on GPUs)

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.is_error)

    @property
    def warnings(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity is Severity.WARNING)

    @property
    def acknowledged(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity is Severity.ACKNOWLEDGED)


def iter_problems(env: EnvironmentBudget) -> list[Problem]:
    """Errors first, then warnings, then the warnings the values acknowledge."""
    return [*env.errors, *env.warnings, *env.acknowledged]


def table(budget: Budget, fit: Fit) -> list[str]:
    """The breakdown: one line per part with bytes, MiB and share of the limit, then the total."""
    scale = fit.limit or budget.total or 1
    lines = [f"  {'part':<13} {'bytes':>14} {'MiB':>9} {'of limit':>9}"]
    for name, size in (*budget.parts(), ("total", budget.total)):
        lines.append(f"  {name:<13} {size:>14,} {size / MiB:>9.1f} {size / scale:>8.1%}")
    return lines


def limits_line(fit: Fit) -> str:
    """`limit 4.00 GiB, request 2.00 GiB, free 1.70 GiB` (or what is unset)."""
    limit = format_bytes(fit.limit) if fit.limit is not None else "unset"
    request = format_bytes(fit.request) if fit.request is not None else "unset"
    if fit.headroom is None:
        rest = "no limit to compare with"
    elif fit.headroom >= 0:
        rest = f"free {format_bytes(fit.headroom)}"
    else:
        rest = f"OVER by {format_bytes(-fit.headroom)}"
    return f"  limit {limit}, request {request}, {rest}"


def bar(budget: Budget, fit: Fit, width: int = BAR_WIDTH) -> str:
    """A text bar where each part takes its share of max(limit, total); '!' marks what is over the limit."""
    scale = max(fit.limit or 0, budget.total) or 1
    cells: list[str] = []
    used = 0
    for name, size in budget.parts():
        end = round((used + size) / scale * width)
        cells += [GLYPHS[name]] * (end - len(cells))
        used += size
    if fit.limit is not None:
        limit_at = round(fit.limit / scale * width)
        cells = [OVER_GLYPH if i >= limit_at else glyph for i, glyph in enumerate(cells)]
    cells += [FREE_GLYPH] * (width - len(cells))
    return "  [" + "".join(cells) + "]"


def legend() -> str:
    """What each glyph of the bar stands for."""
    return "  " + ", ".join(f"{glyph} {name}" for name, glyph in GLYPHS.items()) + f", {FREE_GLYPH} free, {OVER_GLYPH} over"


def gpu_lines(gpu: GpuBudget) -> list[str]:
    """The fullest GPU's need, part by part, against one GPU's memory."""
    parts = ", ".join(f"{name} {format_bytes(size)}" for name, size in gpu.parts())
    memory = format_bytes(gpu.memory) if gpu.memory is not None else "unknown"
    layers = f"{gpu.offload.layers} layers" + (" and the output layer" if gpu.offload.output else "")
    return [f"  GPU: {layers} on {gpu.count} GPU{'s' if gpu.count > 1 else ''} (the table above is what stays in RAM)",
            f"  fullest GPU {format_bytes(gpu.per_gpu)} of {memory}: {parts}"]


def serving_lines(est: ServingEstimate) -> list[str]:
    """Tokens/s per slot and streams at the target, and where the numbers come from."""
    if est.slots == 1:
        lines = [f"  serving (estimate): about {est.single_tps:.1f} tokens/s for the one slot (llama.parallel 1)"]
    else:
        lines = [f"  serving (estimate): about {est.single_tps:.1f} tokens/s for one stream; {est.per_slot_tps:.1f} "
                 f"per slot with all {est.slots} slots busy ({est.aggregate_tps:.1f} together)"]
    if est.target_tps > 0:
        pods = f"{est.replicas} replica{'s' if est.replicas != 1 else ''}"
        lines.append(f"  at {est.target_tps:g} tokens/s per user: {est.streams_at_target} stream(s) per pod, "
                     f"{est.streams_at_target * est.replicas} across {pods}; with more slots one pod could hold "
                     f"{est.streams_possible}")
    where = (f"{est.cores:g} cores" if not est.beyond_measured else
             f"{est.cores:g} cores, read at the largest quota measured")
    lines.append(f"  ({where}; {est.label}, scaled to this model by bytes read per token, x{est.scale:.2f})")
    return lines


def problem_lines(env: EnvironmentBudget) -> list[str]:
    """One line per error and warning, yamllint style: `file::path: [level] message`."""
    return [f"  {p.file}::{p.path}: [{p.severity.value}] {p.message}" for p in iter_problems(env)]


def text(env: EnvironmentBudget) -> list[str]:
    """The whole text report of one environment."""
    lines = [f"{env.file}: {env.model}"]
    if env.budget is not None and env.fit is not None:
        lines += table(env.budget, env.fit)
        lines += [limits_line(env.fit), bar(env.budget, env.fit)]
    if env.gpu is not None:
        lines += gpu_lines(env.gpu)
    if env.startup is not None:
        s = env.startup
        lines.append(f"  startupProbe: periodSeconds {s.period_seconds}, failureThreshold {s.failure_threshold} "
                     f"({s.window_seconds}s for a {s.download_seconds:.0f}s download and a {s.load_seconds:g}s load)")
    if env.serving is not None:
        lines += serving_lines(env.serving)
    return lines + problem_lines(env)


def summary(envs: list[EnvironmentBudget]) -> str:
    """`Summary: 2 environments - Fit: 1, Errors: 1, Warnings: 3, Acknowledged: 2`."""
    failed = sum(1 for env in envs if env.errors)
    warnings = sum(len(env.warnings) for env in envs)
    acknowledged = sum(len(env.acknowledged) for env in envs)
    plural = "s" if len(envs) != 1 else ""
    return (f"Summary: {len(envs)} environment{plural} - Fit: {len(envs) - failed}, Errors: {failed}, "
            f"Warnings: {warnings}, Acknowledged: {acknowledged}")


def to_data(env: EnvironmentBudget) -> dict[str, Any]:
    """One environment as plain data for `--output json`, camelCase keys, sizes in bytes."""
    data: dict[str, Any] = {"environment": env.name, "file": env.file, "model": env.model}
    if env.budget is not None and env.fit is not None:
        parts = {_camel(name): size for name, size in env.budget.parts()}
        data["budget"] = {**parts, "total": env.budget.total}
        data["memory"] = {"limit": env.fit.limit, "request": env.fit.request,
                          "free": env.fit.headroom, "fits": env.fit.fits}
        data["kvCells"] = _camel_keys(vars(env.budget.cells))
    if env.gpu is not None:
        data["gpu"] = {**{_camel(name): size for name, size in env.gpu.parts()}, "perGpu": env.gpu.per_gpu,
                       "count": env.gpu.count, "memory": env.gpu.memory, "fits": env.gpu.fits,
                       "offloadedLayers": env.gpu.offload.layers, "outputLayer": env.gpu.offload.output}
    if env.startup is not None:
        data["startupProbe"] = {"periodSeconds": env.startup.period_seconds,
                                "failureThreshold": env.startup.failure_threshold}
    if env.serving is not None:
        data["serving"] = serving_data(env.serving)
    data["errors"], data["warnings"] = [str(p) for p in env.errors], [str(p) for p in env.warnings]
    data["acknowledged"] = [str(p) for p in env.acknowledged]
    return data


def serving_data(est: ServingEstimate) -> dict[str, Any]:
    """The serving estimate for `--output json`: tokens/s rounded to 0.1, and what it is based on."""
    return {"cores": est.cores, "beyondMeasured": est.beyond_measured, "scale": round(est.scale, 4),
            "slots": est.slots, "replicas": est.replicas, "singleTokensPerSecond": round(est.single_tps, 1),
            "perSlotTokensPerSecond": round(est.per_slot_tps, 1), "targetTokensPerSecond": est.target_tps,
            "streamsAtTarget": est.streams_at_target, "streamsPossible": est.streams_possible, "basis": est.label}


def to_json(envs: list[EnvironmentBudget]) -> str:
    """Every environment as one JSON document; sorted keys, two-space indent, one trailing newline."""
    return json.dumps([to_data(env) for env in envs], indent=2, sort_keys=True) + "\n"


def _camel(name: str) -> str:
    """`kv cache` or `n_ctx_seq` → `kvCache`, `nCtxSeq`."""
    head, *rest = name.replace(" ", "_").split("_")
    return head + "".join(word.capitalize() for word in rest)


def _camel_keys(data: dict[str, Any]) -> dict[str, Any]:
    """The same mapping with camelCase keys."""
    return {_camel(key): value for key, value in data.items()}
