"""Values → plans, and the guards over them: what every command that reads values starts with."""

from __future__ import annotations

from .. import guards, overrides
from ..errors import CheckFailed
from ..plan import Plan, build_plan
from ..problems import Problem, acknowledged_of, errors_of, warnings_of
from ..settings import Settings
from ..values import Extra, load_all, load_schema


def load_plans(settings: Settings) -> tuple[Plan, ...]:
    """The plan of every requested environment (all of them by default), with the command line's overrides."""
    return tuple(build_plan(values) for values in load_all(settings, extra_layers(settings)))


def extra_layers(settings: Settings) -> Extra | None:
    """The `-f` and `--set` layers of the command line, parsed once (None without any)."""
    return overrides.extra_layers(settings.overrides, load_schema(settings)) if settings.overrides else None


def guarded(plans: tuple[Plan, ...]) -> tuple[Problem, ...]:
    """Every plan's guard warnings and acknowledged warnings; every error of every plan raised at once (exit 1)."""
    problems = tuple(p for plan in plans for p in guards.run(plan))
    errors = errors_of(problems)
    if errors:
        failed = sorted({p.file for p in errors})
        raise CheckFailed(f"{', '.join(failed)}: the deployment cannot run as configured "
                          f"(see `gemma-gitops budget`)", errors)
    return (*warnings_of(problems), *acknowledged_of(problems))
