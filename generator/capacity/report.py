"""Show a budget: a table, a proportional bar against the memory limit, or JSON."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .budget import Budget, Fit
from .guards import CapacityReport, Level, iter_problems
from .quantity import MiB, format_bytes

# One glyph per budget part in the bar, in Budget.parts() order; '.' is free room under the limit.
GLYPHS = {"weights": "W", "repack": "w", "kv cache": "K", "compute": "C", "outputs": "O",
          "prompt cache": "P", "checkpoints": "X", "overhead": "R"}
FREE_GLYPH = "."
OVER_GLYPH = "!"
BAR_WIDTH = 60


@dataclass(frozen=True)
class EnvironmentBudget:
    """One environment's capacity report with the names the output shows."""

    name: str
    file: str
    model: str
    report: CapacityReport


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


def problem_lines(report: CapacityReport) -> list[str]:
    """One line per error and warning, yamllint style: `file::path: [level] message`."""
    return [f"  {problem.file}::{problem.path}: [{level.value}] {problem.message}" for level, problem in iter_problems(report)]


def text(env: EnvironmentBudget) -> list[str]:
    """The whole text report of one environment."""
    lines = [f"{env.file}: {env.model}"]
    report = env.report
    if report.budget is not None and report.fit is not None:
        lines += table(report.budget, report.fit)
        lines += [limits_line(report.fit), bar(report.budget, report.fit)]
    if report.startup is not None:
        s = report.startup
        lines.append(f"  startupProbe: periodSeconds {s.period_seconds}, failureThreshold {s.failure_threshold} "
                     f"({s.window_seconds}s for a {s.download_seconds:.0f}s download and a {s.load_seconds:g}s load)")
    return lines + problem_lines(report)


def summary(envs: list[EnvironmentBudget]) -> str:
    """`Summary: 2 environments - Fit: 1, Errors: 1, Warnings: 3`."""
    failed = sum(1 for env in envs if env.report.errors)
    warnings = sum(len(env.report.warnings) for env in envs)
    plural = "s" if len(envs) != 1 else ""
    return f"Summary: {len(envs)} environment{plural} - Fit: {len(envs) - failed}, Errors: {failed}, Warnings: {warnings}"


def to_data(env: EnvironmentBudget) -> dict[str, Any]:
    """One environment as plain data for `--output json`, camelCase keys, sizes in bytes."""
    report = env.report
    data: dict[str, Any] = {"environment": env.name, "file": env.file, "model": env.model}
    if report.budget is not None and report.fit is not None:
        parts = {_camel(name): size for name, size in report.budget.parts()}
        data["budget"] = {**parts, "total": report.budget.total}
        data["memory"] = {"limit": report.fit.limit, "request": report.fit.request,
                          "free": report.fit.headroom, "fits": report.fit.fits}
        data["kvCells"] = _camel_keys(vars(report.budget.cells))
    if report.startup is not None:
        data["startupProbe"] = {"periodSeconds": report.startup.period_seconds,
                                "failureThreshold": report.startup.failure_threshold}
    for level in Level:
        data[f"{level.value}s"] = [str(p) for lv, p in iter_problems(report) if lv is level]
    return data


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
