"""budget: every environment's memory budget, startup window and guard problems, as text or JSON."""

from __future__ import annotations

from .. import guards
from ..capacity.report import EnvironmentBudget, summary, text, to_json
from ..errors import EXIT_FAILED, EXIT_OK
from ..plan import Plan
from ..settings import Settings
from . import Echo, session
from .plans import load_plans


def budget_of(plan: Plan) -> EnvironmentBudget:
    """One plan's budget as the `budget` command shows it, with the same guards render runs."""
    model = plan.spec.model
    capacity = plan.capacity
    return EnvironmentBudget(plan.env, plan.file, f"{model.alias} ({model.hf_repo}/{model.hf_file})",
                             capacity.budget if capacity else None, capacity.fit if capacity else None,
                             capacity.startup if capacity else None, guards.run(plan), capacity.gpu if capacity else None,
                             capacity.serving if capacity else None)


def run_budget(settings: Settings, output: str, echo: Echo) -> int:
    """Print every requested environment's budget; exit 1 when any of them has an error."""
    with session(settings, "budget"):
        envs = [budget_of(plan) for plan in load_plans(settings)]
    if output == "json":
        echo(to_json(envs).rstrip("\n"))
    else:
        for env in envs:
            for line in text(env):
                echo(line)
        echo(summary(envs))
    return EXIT_FAILED if any(env.errors for env in envs) else EXIT_OK
