"""A model's weights as llama.cpp sees them: tensor roles, ggml types and shapes, and their bytes.

The memory budget needs this beyond the geometry because ggml copies some weights into a second,
repacked buffer whose size depends on each tensor's type and shape (see repack.py).
"""

from __future__ import annotations

from dataclasses import dataclass

# (elements per block, bytes per block) of the ggml types GGUF models carry: the type_traits table of
# ggml/src/ggml.c at llama.cpp b11434, whose type_size is sizeof(block_*) in ggml/src/ggml-common.h
# (e.g. block_q4_K = 2 f16 + 12 scale bytes + 128 quant bytes = 144 per 256 values).
GGML_TYPES: dict[str, tuple[int, int]] = {
    "F32": (1, 4), "F16": (1, 2), "BF16": (1, 2),
    "Q4_0": (32, 18), "Q4_1": (32, 20), "Q5_0": (32, 22), "Q5_1": (32, 24), "Q8_0": (32, 34),
    "Q2_K": (256, 84), "Q3_K": (256, 110), "Q4_K": (256, 144), "Q5_K": (256, 176), "Q6_K": (256, 210),
    "IQ2_XXS": (256, 66), "IQ2_XS": (256, 74), "IQ2_S": (256, 82), "IQ3_XXS": (256, 98), "IQ3_S": (256, 110),
    "IQ1_S": (256, 50), "IQ1_M": (256, 56), "IQ4_NL": (32, 18), "IQ4_XS": (256, 136),
    "TQ1_0": (256, 54), "TQ2_0": (256, 66), "MXFP4": (32, 17), "Q1_0": (128, 18),
}

# How llama.cpp uses a weight (src/llama-arch.cpp LLM_TENSOR_INFOS): the op decides which extra
# buffer types may hold it (src/llama-model-loader.cpp weight_buft_supported builds exactly that op).
MUL_MAT = "mul_mat"
GET_ROWS = "get_rows"
ELEMENTWISE = "mul"
# Tensor name stems that llama.cpp reads rows of (LLM_TENSOR_TOKEN_EMBD and friends: GGML_OP_GET_ROWS).
GET_ROWS_STEMS = frozenset({"token_embd", "per_layer_token_embd", "token_types"})


def type_size(ggml_type: str) -> tuple[int, int]:
    """(elements per block, bytes per block) of a ggml type; a ValueError names an unknown one."""
    try:
        return GGML_TYPES[ggml_type]
    except KeyError:
        raise ValueError(f"unknown ggml type {ggml_type!r}; known: {', '.join(GGML_TYPES)}") from None


def op_of(stem: str, ne1: int) -> str:
    """The op a weight feeds: get_rows for token embeddings, an elementwise op for vectors (norms,
    biases), a matmul for every other matrix."""
    if stem in GET_ROWS_STEMS:
        return GET_ROWS
    if ne1 <= 1 or stem.endswith("norm") or stem.endswith(".bias"):
        return ELEMENTWISE
    return MUL_MAT


@dataclass(frozen=True)
class TensorGroup:
    """`count` weights of one role, ggml type and 2-D shape (ne0 = values per row, ne1 = rows)."""

    stem: str  # llama.cpp's tensor name without `blk.N.` and `.weight`: token_embd, attn_q, ffn_down, ...
    ggml_type: str
    ne0: int  # input features: the row the matmul dots with an activation
    ne1: int  # output features (rows); 1 for a vector
    count: int = 1

    @property
    def op(self) -> str:
        """The op llama.cpp builds with this weight."""
        return op_of(self.stem, self.ne1)

    @property
    def row_bytes(self) -> int:
        """ggml_row_size(type, ne0)."""
        block, size = type_size(self.ggml_type)
        return (self.ne0 + block - 1) // block * size

    @property
    def nbytes(self) -> int:
        """ggml_nbytes of one tensor of the group."""
        return self.row_bytes * self.ne1

    @property
    def total_bytes(self) -> int:
        """All tensors of the group together."""
        return self.nbytes * self.count


@dataclass(frozen=True)
class WeightComposition:
    """Every weight of a GGUF file by group, and whether the output matmul reuses the token embeddings."""

    groups: tuple[TensorGroup, ...]
    # Gemma (and other tied-embedding models) have no output.weight: src/models/gemma3.cpp creates
    # `output` from token_embd with TENSOR_DUPLICATED, and src/llama-model-loader.cpp create_tensor
    # places that duplicate by the output's op (a matmul), so it can land in a repack buffer while
    # token_embd itself (get_rows) stays in the mapped file.
    tied_output: bool = False

    @property
    def data_bytes(self) -> int:
        """The tensor data of the file (without the header and alignment padding)."""
        return sum(group.total_bytes for group in self.groups)

    def matmul_weights(self) -> tuple[TensorGroup, ...]:
        """The weights llama.cpp multiplies activations with, the tied output included."""
        found = [group for group in self.groups if group.op == MUL_MAT]
        if self.tied_output:
            found += [TensorGroup("output", g.ggml_type, g.ne0, g.ne1) for g in self.groups if g.stem == "token_embd"]
        return tuple(found)

    def bytes_by_type(self) -> dict[str, int]:
        """Bytes of tensor data per ggml type, largest first (what `inspect` shows)."""
        totals: dict[str, int] = {}
        for group in self.groups:
            totals[group.ggml_type] = totals.get(group.ggml_type, 0) + group.total_bytes
        return dict(sorted(totals.items(), key=lambda item: (-item[1], item[0])))


def stem_of(name: str) -> str:
    """`blk.7.ffn_down.weight` → `ffn_down`; `token_embd.weight` → `token_embd`."""
    parts = name.split(".")
    if parts[0] == "blk" and len(parts) > 2:
        parts = parts[2:]
    if parts[-1] == "weight":
        parts = parts[:-1]
    return ".".join(parts)


def group_tensors(tensors: list[tuple[str, str, tuple[int, ...]]]) -> tuple[TensorGroup, ...]:
    """Group (name, ggml type, shape) triples by (stem, type, ne0, ne1), sorted for a stable order; a 3-D
    tensor (one matrix per expert) counts as that many matrices."""
    counts: dict[tuple[str, str, int, int], int] = {}
    for name, ggml_type, shape in tensors:
        ne0, ne1 = shape[0], (shape[1] if len(shape) > 1 else 1)
        matrices = 1
        for extent in shape[2:]:
            matrices *= extent
        key = (stem_of(name), ggml_type, ne0, ne1)
        counts[key] = counts.get(key, 0) + matrices
    return tuple(TensorGroup(stem, t, ne0, ne1, n) for (stem, t, ne0, ne1), n in sorted(counts.items()))
