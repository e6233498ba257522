"""The plan: every schema property reaches a typed field, derived quantities are computed once, from the plan."""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from generator.capacity.budget import LlamaSettings
from generator.plan import PlanModelError, Spec, build_plan, llama_settings, timeouts_for
from generator.plan.build import build, fields_of
from generator.values import load_schema, resolve_ref
from tests.plans import SETTINGS, plan_for, values_for


def schema_objects(node: Mapping[str, Any], root: Mapping[str, Any], kind: Any,
                   path: str = "") -> Iterator[tuple[str, Mapping[str, Any], Any]]:
    """(key path, schema object with properties, the plan type that should hold it), depth first."""
    if "$ref" in node:
        node = {**resolve_ref(root, node["$ref"]), **{k: v for k, v in node.items() if k != "$ref"}}
    if typing.get_origin(kind) in (typing.Union, type(int | None)):
        (kind,) = [a for a in typing.get_args(kind) if a is not type(None)]
    if "properties" not in node or not (isinstance(kind, type) and dataclasses.is_dataclass(kind)):
        return
    yield path, node, kind
    fields = {key: attribute_type for key, _, attribute_type in fields_of(kind)}
    for key, sub in node["properties"].items():
        if key in fields:
            yield from schema_objects(sub, root, fields[key], f"{path}.{key}" if path else key)


def test_every_schema_property_has_a_plan_field_and_back() -> None:
    schema = load_schema(SETTINGS)
    checked = 0
    for path, node, kind in schema_objects(schema, schema, Spec):
        properties = set(node["properties"]) - {"$schema"}
        keys = {key for key, _, _ in fields_of(kind)}
        assert properties == keys, f"{path or '(top level)'}: schema {sorted(properties ^ keys)} vs {kind.__name__}"
        checked += 1
    assert checked >= 15  # every object of the schema, not just the top level


def test_a_key_the_plan_does_not_know_is_a_bug_not_silence() -> None:
    with pytest.raises(PlanModelError, match="surprise has no field in Spec"):
        build(Spec, {**values_for().data, "surprise": 1})


def test_every_budget_flag_reaches_the_memory_budget() -> None:
    changed = {"llama.contextSize": 8192, "llama.batchSize": 256, "llama.ubatchSize": 128, "llama.parallel": 2,
               "llama.cacheRamMiB": 64, "llama.cacheTypeK": "q8_0", "llama.cacheTypeV": "q4_0", "llama.kvUnified": True,
               "llama.swaFull": True, "llama.embeddings": False, "llama.ctxCheckpoints": 7}
    settings = llama_settings(build_plan(values_for("prod", changed)).spec)
    assert settings == LlamaSettings(context_size=8192, batch_size=256, ubatch_size=128, parallel=2, cache_ram_mib=64,
                                      cache_type_k="q8_0", cache_type_v="q4_0", kv_unified=True, swa_full=True,
                                      embeddings=False, ctx_checkpoints=7)


BUDGET_FLAGS = [("contextSize", "context_size", 3072), ("batchSize", "batch_size", 384), ("ubatchSize", "ubatch_size", 96),
                ("parallel", "parallel", 3), ("cacheRamMiB", "cache_ram_mib", 48), ("cacheTypeK", "cache_type_k", "q5_1"),
                ("cacheTypeV", "cache_type_v", "iq4_nl"), ("ctxCheckpoints", "ctx_checkpoints", 5)]
FLIPPED = [("kvUnified", "kv_unified"), ("swaFull", "swa_full"), ("embeddings", "embeddings")]


@pytest.mark.parametrize(("key", "field", "value"), [*BUDGET_FLAGS, *((key, field, None) for key, field in FLIPPED)])
def test_each_budget_flag_moves_its_own_field_and_no_other(key: str, field: str, value: Any) -> None:
    """One flag at a time, so two flags swapped in the mapping (both True in the test above) cannot hide."""
    before = build_plan(values_for("prod")).capacity
    assert before is not None
    if value is None:
        value = not getattr(before.settings, field)
    assert getattr(before.settings, field) != value
    after = build_plan(values_for("prod", {f"llama.{key}": value})).capacity
    assert after is not None
    assert after.settings == dataclasses.replace(before.settings, **{field: value})


def test_the_reference_plan() -> None:
    plan = plan_for("prod")
    assert (plan.env, plan.file, plan.workload_kind) == ("prod", "values/prod.yaml", "Deployment")
    assert plan.names.secret == "gemma-api-key" and plan.names.cache == "gemma-models"
    assert plan.spec.node_selector == {"kubernetes.io/arch": "arm64"}
    assert plan.capacity is not None and plan.capacity.cpu_limit_cores == 2


def test_timeouts_wait_longer_at_each_outer_hop() -> None:
    t = timeouts_for(600)
    assert (t.gateway_seconds, t.nginx_seconds, t.llama_seconds) == (610, 605, 600)


@pytest.mark.parametrize(("replicas", "mode", "kind"), [
    (1, "ReadWriteOnce", "Deployment"), (3, "ReadWriteOnce", "StatefulSet"), (3, "ReadWriteMany", "Deployment"),
])
def test_workload_kind(replicas: int, mode: str, kind: str) -> None:
    assert plan_for("prod", replicas=replicas, cache__accessMode=mode).workload_kind == kind


def test_the_plan_is_frozen() -> None:
    plan = plan_for("prod")
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.spec.llama.threads = 8  # type: ignore[misc]
    with pytest.raises(TypeError):
        plan.spec.node_selector["x"] = "y"  # type: ignore[index]


@pytest.mark.parametrize(("changes", "platform"), [
    ({}, "neoverse-n1"),  # the reference: arm64 nodes, OCI Ampere A1
    ({"nodeSelector": {"kubernetes.io/arch": "amd64"}}, "sapphirerapids-amx"),  # the x86 CPU that copies the most
    ({"nodeSelector": {"kubernetes.io/arch": "amd64"}, "llama.cpuTarget": "x86-64-v3"}, "x86-64-v3"),
    ({"llama.cpuTarget": "graviton3"}, "neoverse-v1"),
])
def test_the_budget_is_for_the_cpu_the_values_target(changes: dict[str, Any], platform: str) -> None:
    plan = build_plan(values_for("prod", changes))
    assert plan.capacity is not None and plan.capacity.platform.name == platform
    assert plan.capacity.budget.platform == plan.capacity.platform  # the repack line is computed for it


def test_a_cpu_target_of_another_arch_is_an_error_at_its_line() -> None:
    plan = build_plan(values_for("prod", {"llama.cpuTarget": "x86-64-v4"}))
    assert plan.capacity is None
    (problem,) = plan.problems
    assert (problem.path, problem.rule) == ("llama.cpuTarget", "cpu-target")
    assert "is amd64, but the nodeSelector asks for arm64" in problem.message


def test_a_model_outside_the_catalog_without_geometry_is_one_problem_at_its_file_and_rule() -> None:
    plan = build_plan(values_for("prod", {"model.hfRepo": "someone/model-GGUF", "model.hfFile": "model-Q4_0.gguf"}))
    (problem,) = plan.problems
    assert (problem.file, problem.path, problem.rule) == ("values/prod.yaml", "model.geometry", "model-geometry")
    assert problem.message == ("someone/model-GGUF/model-Q4_0.gguf is not in the model catalog, so model.geometry is "
                               "required: run `gemma-gitops inspect FILE.gguf` and paste its output under model.geometry")
    assert plan.capacity is None
