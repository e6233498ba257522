"""Plans for tests: the repository's values for an environment, with changes layered on top."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from generator.plan import Plan, build_plan
from generator.settings import Settings
from generator.values import Layer, Values, load_schema, merge_layers, read_layer, schema_defaults
from testkit.dotted import nested

REPO = Path(__file__).resolve().parents[1]
SETTINGS = Settings(root=REPO)



def values_for(env: str = "prod", changes: dict[str, Any] | None = None, name: str | None = None) -> Values:
    """An environment's values as the values stage builds them, with `changes` (dotted paths) set last;
    `name` renames the environment (its file becomes values/<name>.yaml)."""
    schema = load_schema(SETTINGS)
    layers = [Layer("(schema defaults)", schema_defaults(schema) or {}),
              read_layer(SETTINGS.values_dir / f"{env}.yaml", SETTINGS),
              Layer("(test)", nested(changes or {}))]
    return merge_layers(name or env, f"values/{name or env}.yaml", layers, schema)


def plan_for(env: str = "prod", name: str | None = None, **changes: Any) -> Plan:
    """An environment's plan with changes given as keyword arguments, `llama__contextSize=2048`."""
    return build_plan(values_for(env, {key.replace("__", "."): value for key, value in changes.items()}, name))
