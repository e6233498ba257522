"""Each capacity guard, on a case that passes and a case that fails."""

from __future__ import annotations

from typing import Any

import pytest

from generator.capacity.guards import (
    CapacityReport,
    Timeouts,
    check_values,
    is_oci_block_class,
    shared_volume_problems,
    timeout_problems,
)

FILE = "values/prod.yaml"


def set_path(values: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """Set a dotted key path in place (None deletes it) and return the values."""
    *parents, last = path.split(".")
    node = values
    for key in parents:
        node = node.setdefault(key, {})
    if value is None:
        node.pop(last, None)
    else:
        node[last] = value
    return values


def paths(problems: tuple[Any, ...]) -> list[str]:
    return [p.path for p in problems]


def check(values: dict[str, Any], **changes: Any) -> CapacityReport:
    """check_values after changes given as path__with__dunders=value."""
    for key, value in changes.items():
        set_path(values, key.replace("__", "."), value)
    return check_values(values, FILE)


def test_the_reference_deployment_fits(reference: dict[str, Any]) -> None:
    report = check_values(reference, FILE)
    assert report.errors == ()
    assert paths(report.warnings) == ["llama.embeddings", "llama.ctxCheckpoints", "cache.size"]
    assert report.budget is not None and report.fit is not None and report.fit.fits
    assert report.startup is not None and report.startup.failure_threshold == 67
    assert all(str(p).startswith(f"{FILE}::") for p in report.warnings)


def test_over_the_limit_is_an_error_with_breakdown_and_fixes(reference: dict[str, Any]) -> None:
    report = check(reference, llama__resources__limits__memory="2Gi")
    (error,) = report.errors
    assert error.path == "llama.resources.limits.memory"
    assert "exceeds the limit 2.00 GiB by 689.0 MiB" in error.message
    assert ("weights 769.1 MiB, repack 462.8 MiB, kv cache 38.0 MiB, compute 530.6 MiB, outputs 514.2 MiB, "
            "checkpoints 352.2 MiB") in error.message
    for fix in ("llama.contextSize 4096 → 2048 saves", "llama.cacheTypeK/cacheTypeV q8_0 saves",
                "llama.ctxCheckpoints 32 → 2 saves", "llama.ubatchSize 512 → 128 saves",
                "raise llama.resources.limits.memory to at least 2816Mi"):
        assert fix in error.message
    assert "llama.cacheRamMiB" not in error.message  # nothing to save there


def test_prompt_cache_fix_is_offered_when_it_helps(reference: dict[str, Any]) -> None:
    report = check(reference, llama__cacheRamMiB=8192)
    (error,) = report.errors
    assert "llama.cacheRamMiB 8192 → 0 saves 8.00 GiB" in error.message


def test_little_headroom_is_a_warning(reference: dict[str, Any]) -> None:
    report = check(reference, llama__resources__limits__memory="2880Mi")
    assert report.errors == ()
    assert "only 143.0 MiB of 2.81 GiB left" in report.warnings[0].message


@pytest.mark.parametrize(("limit", "level", "message"), [
    (None, "warnings", "no memory limit"),
    ("4 GB", "errors", "not a Kubernetes quantity"),
])
def test_limit_missing_or_unreadable(reference: dict[str, Any], limit: str | None, level: str, message: str) -> None:
    report = check(reference, llama__resources__limits__memory=limit)
    found = [p for p in getattr(report, level) if p.path == "llama.resources.limits.memory"]
    assert found and message in found[0].message


@pytest.mark.parametrize(("request_", "warned"), [("2Gi", False), ("1270Mi", False), ("1269Mi", True), (None, False)])
def test_request_below_weights_repack_and_kv(reference: dict[str, Any], request_: str | None, warned: bool) -> None:
    report = check(reference, llama__resources__requests__memory=request_)
    found = [p for p in report.warnings if p.path == "llama.resources.requests.memory"]
    assert bool(found) == warned
    if warned:
        assert "request at least 1270Mi" in found[0].message  # weights 769 + repack 463 + KV 38 MiB


@pytest.mark.parametrize(("threads", "cpu", "error"), [
    (2, "2", False), (3, "2", True), (2, "1500m", False), (3, "1500m", True), (8, None, False),
])
def test_threads_above_the_cpu_limit(reference: dict[str, Any], threads: int, cpu: str | None, error: bool) -> None:
    report = check(reference, llama__threads=threads, llama__resources__limits__cpu=cpu)
    assert ("llama.threads" in paths(report.errors)) == error


@pytest.mark.parametrize(("context", "parallel", "unified", "error"), [
    (4096, 1, False, False), (1024, 4, False, True), (1024, 4, True, False), (2048, 4, False, False),
])
def test_per_slot_context(reference: dict[str, Any], context: int, parallel: int, unified: bool, error: bool) -> None:
    report = check(reference, llama__contextSize=context, llama__parallel=parallel, llama__kvUnified=unified)
    assert ("llama.contextSize" in paths(report.errors)) == error


def test_context_beyond_training_is_a_warning(reference: dict[str, Any]) -> None:
    report = check(reference, llama__contextSize=65536, llama__resources__limits__memory="16Gi")
    assert "llama.contextSize" in paths(report.warnings)


@pytest.mark.parametrize(("size", "storage_class", "errors", "warnings"), [
    ("50Gi", "oci-bv", [], []),
    ("5Gi", "oci-bv", [], ["cache.size"]),
    ("5Gi", "oci-bv-encrypted", [], ["cache.size"]),
    ("5Gi", "standard", [], []),
    ("900Mi", "standard", [], ["cache.size"]),  # under 1.25 x the file
    ("500Mi", "standard", ["cache.size"], []),
    ("lots", "standard", ["cache.size"], []),
])
def test_cache_volume(reference: dict[str, Any], size: str, storage_class: str, errors: list[str], warnings: list[str]) -> None:
    report = check(reference, cache__size=size, cache__storageClass=storage_class)
    assert [p for p in paths(report.errors) if p == "cache.size"] == errors
    assert [p for p in paths(report.warnings) if p == "cache.size"] == warnings


@pytest.mark.parametrize(("name", "oci"), [("oci", True), ("oci-bv", True), ("oci-bv-high", True), ("oci-fss", False), ("gp3", False)])
def test_oci_block_classes(name: str, oci: bool) -> None:
    assert is_oci_block_class(name) == oci


@pytest.mark.parametrize(("embeddings", "warned"), [(True, True), (False, False)])
def test_embeddings_cost(reference: dict[str, Any], embeddings: bool, warned: bool) -> None:
    report = check(reference, llama__embeddings=embeddings)
    assert ("llama.embeddings" in paths(report.warnings)) == warned


@pytest.mark.parametrize(("checkpoints", "repo", "file", "warned"), [
    (None, "ggml-org/gemma-3-1b-it-GGUF", "gemma-3-1b-it-Q4_K_M.gguf", True),
    (2, "ggml-org/gemma-3-1b-it-GGUF", "gemma-3-1b-it-Q4_K_M.gguf", False),
    (None, "bartowski/Qwen2.5-0.5B-Instruct-GGUF", "Qwen2.5-0.5B-Instruct-Q4_K_M.gguf", False),  # no SWA
])
def test_unset_checkpoints(reference: dict[str, Any], checkpoints: int | None, repo: str, file: str, warned: bool) -> None:
    report = check(reference, llama__ctxCheckpoints=checkpoints, model__hfRepo=repo, model__hfFile=file)
    assert ("llama.ctxCheckpoints" in paths(report.warnings)) == warned


def test_a_model_outside_the_catalog_needs_a_geometry(reference: dict[str, Any]) -> None:
    report = check(reference, model__hfRepo="someone/else-GGUF")
    assert paths(report.errors) == ["model.geometry"] and report.budget is None
    assert "gemma-gitops inspect FILE.gguf" in report.errors[0].message


def test_a_geometry_is_used_and_checked(reference: dict[str, Any]) -> None:
    geometry = {"fileSizeBytes": 400_000_000, "nLayer": 24, "nHead": 14, "nHeadKv": 2, "headDimK": 64, "headDimV": 64,
                "nEmbd": 896, "nFf": 4864, "nVocab": 151936, "nCtxTrain": 32768, "slidingWindow": 0, "swaPattern": 0}
    report = check(reference, model__hfRepo="someone/else-GGUF", model__geometry=dict(geometry))
    assert report.budget is not None and report.budget.weights == 400_000_000
    broken = {**geometry, "nFf": 0, "extra": 1}
    del broken["nVocab"]
    report = check(reference, model__geometry=broken)
    assert paths(report.errors) == ["model.geometry.extra", "model.geometry.nFf", "model.geometry.nVocab"]


@pytest.mark.parametrize(("key", "value", "error"), [
    ("cacheTypeK", "q8_0", False), ("cacheTypeV", "q4_0", False), ("cacheTypeK", "q3_k", True), ("cacheTypeV", "fp8", True),
])
def test_cache_types(reference: dict[str, Any], key: str, value: str, error: bool) -> None:
    report = check(reference, **{f"llama__{key}": value})
    assert (f"llama.{key}" in paths(report.errors)) == error


def test_a_row_that_does_not_fill_whole_blocks(reference: dict[str, Any]) -> None:
    geometry = {"fileSizeBytes": 1, "nLayer": 2, "nHead": 1, "nHeadKv": 1, "headDimK": 80, "headDimV": 80, "nEmbd": 80,
                "nFf": 160, "nVocab": 100, "nCtxTrain": 4096, "slidingWindow": 0, "swaPattern": 0}
    report = check(reference, model__geometry=geometry, llama__cacheTypeK="q8_0")
    assert paths(report.errors) == ["llama.cacheTypeK"]


def test_a_bad_startup_block_is_an_error(reference: dict[str, Any]) -> None:
    report = check(reference, llama__startup__minDownloadMiBps=0)
    assert "llama.startup" in paths(report.errors) and report.startup is None


@pytest.mark.parametrize(("kind", "replicas", "mode", "flagged"), [
    ("Deployment", 2, "ReadWriteOnce", True),
    ("Deployment", 2, "ReadWriteOncePod", True),
    ("Deployment", 1, "ReadWriteOnce", False),
    ("Deployment", 3, "ReadWriteMany", False),
    ("StatefulSet", 3, "ReadWriteOnce", False),  # one volume per replica
])
def test_shared_volume(reference: dict[str, Any], kind: str, replicas: int, mode: str, flagged: bool) -> None:
    set_path(reference, "replicas", replicas)
    set_path(reference, "cache.accessMode", mode)
    assert bool(shared_volume_problems(reference, FILE, kind)) == flagged


@pytest.mark.parametrize(("gateway", "nginx", "llama", "errors", "warnings"), [
    (700, 630, 600, 0, 0),
    (600, 630, 600, 1, 0),  # the gateway gives up first
    (700, 600, 630, 1, 0),  # nginx gives up first
    (603, 600, 600, 0, 2),  # outer and inner fire together
    (700, 630, 0, 1, 0),
])
def test_timeouts(gateway: float, nginx: float, llama: float, errors: int, warnings: int) -> None:
    found = timeout_problems(FILE, Timeouts(gateway, nginx, llama))
    assert (len(found[0]), len(found[1])) == (errors, warnings)


def test_check_values_runs_the_timeout_guard_when_given(reference: dict[str, Any]) -> None:
    report = check_values(reference, FILE, Timeouts(600, 630, 600))
    assert "requestTimeoutSeconds" in paths(report.errors)
    assert "gives up after 600s, before the nginx (630s)" in report.errors[0].message


@pytest.mark.parametrize("key", ["contextSize", "batchSize", "ubatchSize", "parallel"])
def test_sizes_must_be_positive(reference: dict[str, Any], key: str) -> None:
    report = check(reference, **{f"llama__{key}": 0})
    assert paths(report.errors) == [f"llama.{key}"] and report.budget is None
