"""Each capacity guard, on a case that passes and a case that fails, over plans built from real values."""

from __future__ import annotations

import json
from dataclasses import replace
from types import MappingProxyType
from typing import Any

import pytest

from generator import guards
from generator.errors import ValuesError
from generator.plan import Plan
from generator.problems import Problem, Severity, acknowledged_of, errors_of, warnings_of
from tests.conftest import REPO
from tests.plans import plan_for

FILE = "values/prod.yaml"


def paths(problems: tuple[Problem, ...]) -> list[str]:
    return [p.path for p in problems]


def unacknowledged(plan: Plan) -> Plan:
    """The plan without the values' acknowledgements, so every warning shows."""
    return replace(plan, spec=replace(plan.spec, acknowledge=MappingProxyType({})))


def check(**changes: Any) -> tuple[tuple[Problem, ...], tuple[Problem, ...], Plan]:
    """(errors, warnings, plan) of the reference deployment after changes given as path__with__dunders=value,
    its acknowledgements left out."""
    plan = unacknowledged(plan_for("prod", **changes))
    problems = guards.run(plan)
    return errors_of(problems), warnings_of(problems), plan


def test_the_reference_deployment_fits() -> None:
    errors, warnings, plan = check()
    assert errors == ()
    assert paths(warnings) == ["llama.embeddings", "cache.size"]
    assert plan.capacity is not None and plan.capacity.fit.fits
    assert plan.capacity.startup.failure_threshold == 67
    assert all(str(p).startswith(f"{FILE}::") for p in warnings)


def test_over_the_limit_is_an_error_with_breakdown_and_fixes() -> None:
    errors, _, _ = check(llama__resources__limits__memory="2Gi", llama__ctxCheckpoints=32)
    (error,) = errors
    assert error.path == "llama.resources.limits.memory"
    assert "exceeds the limit 2.00 GiB by 689.0 MiB" in error.message
    assert ("weights 769.1 MiB, repack 462.8 MiB, kv cache 38.0 MiB, compute 530.6 MiB, outputs 514.2 MiB, "
            "checkpoints 352.2 MiB") in error.message
    for fix in ("llama.contextSize 4096 → 2048 saves", "llama.cacheTypeK/cacheTypeV q8_0 saves",
                "llama.ctxCheckpoints 32 → 2 saves", "llama.ubatchSize 512 → 128 saves",
                "raise llama.resources.limits.memory to at least 2816Mi"):
        assert fix in error.message
    assert "llama.cacheRamMiB" not in error.message  # nothing to save there


def test_prompt_cache_fix_is_offered_when_it_helps() -> None:
    errors, _, _ = check(llama__cacheRamMiB=8192)
    (error,) = errors
    assert "llama.cacheRamMiB 8192 → 0 saves 8.00 GiB" in error.message


def test_little_headroom_is_a_warning() -> None:
    errors, warnings, _ = check(llama__resources__limits__memory="2880Mi", llama__ctxCheckpoints=32)
    assert errors == ()
    assert "only 143.0 MiB of 2.81 GiB left" in warnings[0].message


@pytest.mark.parametrize(("request_", "warned"), [("2Gi", False), ("1270Mi", False), ("1269Mi", True)])
def test_request_below_weights_repack_and_kv(request_: str, warned: bool) -> None:
    _, warnings, _ = check(llama__resources__requests__memory=request_)
    found = [p for p in warnings if p.path == "llama.resources.requests.memory"]
    assert bool(found) == warned
    if warned:
        assert "request at least 1270Mi" in found[0].message  # weights 769 + repack 463 + KV 38 MiB


@pytest.mark.parametrize(("threads", "cpu", "error"), [
    (2, "2", False), (3, "2", True), (2, "1500m", False), (3, "1500m", True),
])
def test_threads_above_the_cpu_limit(threads: int, cpu: str, error: bool) -> None:
    errors, _, _ = check(llama__threads=threads, llama__resources__limits__cpu=cpu)
    assert ("llama.threads" in paths(errors)) == error


@pytest.mark.parametrize(("context", "parallel", "unified", "error"), [
    (4096, 1, False, False), (1024, 4, False, True), (1024, 4, True, False), (2048, 4, False, False),
])
def test_per_slot_context(context: int, parallel: int, unified: bool, error: bool) -> None:
    errors, _, _ = check(llama__contextSize=context, llama__parallel=parallel, llama__kvUnified=unified)
    assert ("llama.contextSize" in paths(errors)) == error


def test_context_beyond_training_is_a_warning() -> None:
    _, warnings, _ = check(llama__contextSize=65536, llama__resources__limits__memory="16Gi")
    assert "llama.contextSize" in paths(warnings)


@pytest.mark.parametrize(("size", "storage_class", "errors", "warnings"), [
    ("50Gi", "oci-bv", [], []),
    ("5Gi", "oci-bv", [], ["cache.size"]),
    ("5Gi", "oci-bv-encrypted", [], ["cache.size"]),
    ("5Gi", "standard", [], []),
    ("900Mi", "standard", [], ["cache.size"]),  # under 1.25 x the file
    ("500Mi", "standard", ["cache.size"], []),
])
def test_cache_volume(size: str, storage_class: str, errors: list[str], warnings: list[str]) -> None:
    found_errors, found_warnings, _ = check(cache__size=size, cache__storageClass=storage_class)
    assert [p for p in paths(found_errors) if p == "cache.size"] == errors
    assert [p for p in paths(found_warnings) if p == "cache.size"] == warnings


@pytest.mark.parametrize(("name", "oci"), [("oci", True), ("oci-bv", True), ("oci-bv-high", True), ("oci-fss", False), ("gp3", False)])
def test_oci_block_classes(name: str, oci: bool) -> None:
    assert guards.is_oci_block_class(name) == oci


@pytest.mark.parametrize(("embeddings", "warned"), [(True, True), (False, False)])
def test_embeddings_cost(embeddings: bool, warned: bool) -> None:
    _, warnings, _ = check(llama__embeddings=embeddings)
    assert ("llama.embeddings" in paths(warnings)) == warned


def test_a_model_outside_the_catalog_needs_a_geometry() -> None:
    errors, _, plan = check(model__hfRepo="someone/else-GGUF")
    assert paths(errors) == ["model.geometry"] and plan.capacity is None
    assert "gemma-gitops inspect FILE.gguf" in errors[0].message


GEOMETRY = {"fileSizeBytes": 400_000_000, "nLayer": 24, "nHead": 14, "nHeadKv": 2, "headDimK": 64, "headDimV": 64,
            "nEmbd": 896, "nFf": 4864, "nVocab": 151936, "nCtxTrain": 32768, "slidingWindow": 0, "swaPattern": 0}


def test_a_geometry_is_used() -> None:
    _, _, plan = check(model__hfRepo="someone/else-GGUF", model__geometry=dict(GEOMETRY))
    assert plan.capacity is not None and plan.capacity.budget.weights == 400_000_000


@pytest.mark.parametrize(("key", "value", "error"), [("cacheTypeK", "q8_0", False), ("cacheTypeV", "q4_0", False)])
def test_cache_types(key: str, value: str, error: bool) -> None:
    errors, _, _ = check(**{f"llama__{key}": value})
    assert (f"llama.{key}" in paths(errors)) == error


def test_a_row_that_does_not_fill_whole_blocks() -> None:
    geometry = {"fileSizeBytes": 1, "nLayer": 2, "nHead": 1, "nHeadKv": 1, "headDimK": 80, "headDimV": 80, "nEmbd": 80,
                "nFf": 160, "nVocab": 100, "nCtxTrain": 4096, "slidingWindow": 0, "swaPattern": 0}
    errors, _, _ = check(model__geometry=geometry, llama__cacheTypeK="q8_0", cache__size="1Gi")
    assert paths(errors) == ["llama.cacheTypeK"]


# What the guards once checked and the schema now refuses before a plan exists (exit 2, with file and line).
@pytest.mark.parametrize("changes", [
    {"llama__resources__limits__memory": "4 GB"},
    {"cache__size": "lots"},
    {"llama__cacheTypeK": "q3_k"},
    {"llama__cacheTypeV": "fp8"},
    {"llama__startup__minDownloadMiBps": 0},
    {"model__geometry": {**GEOMETRY, "nFf": 0}},
    {"model__geometry": {**GEOMETRY, "extra": 1}},
    *({f"llama__{key}": 0} for key in ("contextSize", "batchSize", "ubatchSize", "parallel")),
])
def test_the_schema_refuses_what_no_guard_needs_to_check(changes: dict[str, Any]) -> None:
    with pytest.raises(ValuesError):
        plan_for("prod", **changes)


# -- acknowledgements ----------------------------------------------------------------------------


def test_every_warning_says_its_id_and_only_warnings_can_be_acknowledged() -> None:
    _, warnings, _ = check(cache__size="900Mi", cache__storageClass="oci-bv", llama__resources__requests__memory="512Mi")
    assert {p.rule for p in warnings} == {"embeddings-memory", "cache-volume-room", "oci-block-volume-minimum",
                                          "memory-request"}
    assert str(warnings[0]).endswith(f"({warnings[0].rule})")
    schema = json.loads((REPO / "schemas" / "values.schema.json").read_text())
    assert schema["properties"]["acknowledge"]["propertyNames"]["enum"] == list(guards.WARNINGS)


def test_the_reference_acknowledges_its_two_warnings_with_reasons() -> None:
    problems = guards.run(plan_for("prod"))
    assert warnings_of(problems) == () and errors_of(problems) == ()
    acknowledged = acknowledged_of(problems)
    assert [(p.rule, p.severity) for p in acknowledged] == [("embeddings-memory", Severity.ACKNOWLEDGED),
                                                             ("oci-block-volume-minimum", Severity.ACKNOWLEDGED)]
    assert "(acknowledged: we serve /v1/embeddings" in acknowledged[0].message


def test_an_acknowledgement_that_no_warning_answers_is_a_warning() -> None:
    problems = guards.run(plan_for("prod", llama__embeddings=False))
    (stale,) = warnings_of(problems)
    assert (stale.path, stale.rule) == ("acknowledge.embeddings-memory", "stale-acknowledgement")
    assert "no longer fires" in stale.message


@pytest.mark.parametrize("acknowledge", [{"memory-limit": "errors are never acknowledged"}, {"no-such-warning": "x"},
                                         {"embeddings-memory": ""}])
def test_only_known_warnings_with_a_reason_can_be_acknowledged(acknowledge: dict[str, str]) -> None:
    with pytest.raises(ValuesError):
        plan_for("prod", acknowledge=acknowledge)
