"""Weight repacking: the second copy of some weights that ggml's CPU backend makes at load time.

llama.cpp memory-maps the GGUF file, and for every weight a matmul reads it first asks the CPU's
"extra" buffer types whether they take it (src/llama-model.cpp make_cpu_buft_list: ACCEL, host,
then the extra types in ggml-cpu.cpp ggml_backend_cpu_get_extra_buffer_types order, AMX before
CPU_REPACK, then plain CPU; src/llama-model-loader.cpp select_weight_buft takes the first whose
supports_op accepts the op weight_buft_supported builds). A weight an extra type takes is copied,
interleaved for that CPU's kernels, into a buffer of its own (`CPU_REPACK model buffer size` or
`AMX model buffer size` in the log), and its pages in the mapping stay resident too: they were read
to make the copy. Every rule and line below is ggml's at llama.cpp b11434.
"""

from __future__ import annotations

from dataclasses import dataclass

from .platform import AVX2, AVX512, DOTPROD, I8MM, NEON, SVE, CpuPlatform
from .tensors import MUL_MAT, TensorGroup, WeightComposition, type_size

# ggml/src/ggml-cpu/repack.cpp ggml_repack_get_optimal_repack_type (lines 4925-5141): for each type,
# the features that make ggml pick an interleaved layout, tried in order, and the row multiple the
# layout needs (`cur->ne[1] % N == 0`). The SVE rule of Q4_0 also needs 256-bit vectors
# (ggml_cpu_get_sve_cnt() == QK8_0, i.e. 32 bytes). RISC-V and s390x paths are left out (no such nodes).
RepackRule = tuple[frozenset[str], int, str]
REPACK_RULES: dict[str, tuple[RepackRule, ...]] = {
    "Q4_0": ((frozenset({AVX2}), 8, "q4_0_8x8"), (frozenset({SVE, I8MM}), 8, "q4_0_8x8 (SVE 256)"),
             (frozenset({NEON, I8MM}), 4, "q4_0_4x8"), (frozenset({NEON, DOTPROD}), 4, "q4_0_4x4")),  # lines 4974-5005
    "Q4_K": ((frozenset({AVX2}), 8, "q4_K_8x8"), (frozenset({NEON, I8MM}), 8, "q4_K_8x8"),
             (frozenset({NEON, DOTPROD}), 8, "q4_K_8x4")),  # lines 5006-5032
    "Q2_K": ((frozenset({AVX512}), 8, "q2_K_8x8"),),  # lines 5033-5049
    "Q5_K": ((frozenset({NEON, I8MM}), 8, "q5_K_8x8"), (frozenset({NEON, DOTPROD}), 8, "q5_K_8x4")),  # lines 5050-5060
    "Q6_K": ((frozenset({NEON, I8MM}), 8, "q6_K_8x8"), (frozenset({NEON, DOTPROD}), 8, "q6_K_8x4")),  # lines 5061-5071
    "IQ4_NL": ((frozenset({AVX2}), 8, "iq4_nl_8x8"), (frozenset({NEON, DOTPROD}), 4, "iq4_nl_4x4")),  # lines 5072-5093
    "MXFP4": ((frozenset({AVX2}), 8, "mxfp4_8x8"), (frozenset({NEON, DOTPROD}), 4, "mxfp4_4x4")),  # lines 5094-5104
    "Q8_0": ((frozenset({NEON, I8MM}), 4, "q8_0_4x8"), (frozenset({NEON, DOTPROD}), 4, "q8_0_4x4")),  # lines 5105-5126
    "Q1_0": ((frozenset({NEON, I8MM}), 4, "q1_0_4x8"), (frozenset({NEON, DOTPROD}), 4, "q1_0_4x4")),  # lines 5127-5137
}
SVE_256_BYTES = 32  # QK8_0

# ggml/src/ggml-cpu/amx/amx.cpp extra_buffer_type::supports_op (lines 145-190): MUL_MAT only, the
# output width (op->ne[0], the weight's ne1) a multiple of 2 x TILE_N = 32, and the row length a
# multiple of the type's alignment; F16 is accepted and copied unchanged (qtype_has_amx_kernels in
# amx/common.h lines 106-115 is false for it).
AMX_ALIGNMENT: dict[str, int] = {"Q4_0": 32, "Q4_1": 32, "Q8_0": 32, "Q4_K": 256, "Q5_K": 256, "Q6_K": 256,
                                 "IQ4_XS": 256, "F16": 16}
AMX_OUTPUT_MULTIPLE = 32
# amx/mmq.cpp get_row_size (lines 245-260): extra bytes per block of the packed layout: Q8_0 keeps an
# int32 compensation per block (do_compensate), Q4_K and Q5_K 4 bytes of unpacked scales, IQ4_XS 2.
AMX_EXTRA_PER_BLOCK: dict[str, int] = {"Q8_0": 4, "Q4_K": 4, "Q5_K": 4, "IQ4_XS": 2}
# Both buffer types align each tensor to TENSOR_ALIGNMENT (ggml-cpu repack.cpp
# ggml_backend_cpu_repack_buffer_type_get_alignment, amx.cpp ..._get_alignment).
TENSOR_ALIGNMENT = 32

AMX_BUFFER = "AMX"
REPACK_BUFFER = "CPU_REPACK"


def _pad(size: int) -> int:
    """Round a tensor's size up to the buffer alignment."""
    return (size + TENSOR_ALIGNMENT - 1) // TENSOR_ALIGNMENT * TENSOR_ALIGNMENT


def amx_bytes(group: TensorGroup) -> int | None:
    """Bytes one weight takes in the AMX buffer, or None when AMX does not take it."""
    alignment = AMX_ALIGNMENT.get(group.ggml_type)
    if alignment is None or group.ne1 % AMX_OUTPUT_MULTIPLE or group.ne0 % alignment:
        return None
    if group.ggml_type == "F16":
        return group.nbytes  # amx/mmq.cpp ggml_backend_amx_get_alloc_size: no packing for f16
    block, size = type_size(group.ggml_type)
    blocks = group.ne0 // block
    return group.ne1 * blocks * (size + AMX_EXTRA_PER_BLOCK.get(group.ggml_type, 0))


def repack_layout(group: TensorGroup, platform: CpuPlatform) -> str | None:
    """The interleaved layout ggml_repack_get_optimal_repack_type picks on this platform, or None."""
    for needs, multiple, layout in REPACK_RULES.get(group.ggml_type, ()):
        if SVE in needs and platform.sve_bytes != SVE_256_BYTES:
            continue
        if needs <= platform.features and group.ne1 % multiple == 0:
            return layout
    return None


@dataclass(frozen=True)
class Placement:
    """Where one group of weights ends up beyond the mapped file, and what that costs."""

    group: TensorGroup
    buffer: str  # AMX_BUFFER or REPACK_BUFFER
    layout: str
    bytes: int  # all tensors of the group, aligned


def place(group: TensorGroup, platform: CpuPlatform) -> Placement | None:
    """The extra buffer a matmul weight goes to (AMX first, then CPU_REPACK), or None: it stays mapped."""
    if group.op != MUL_MAT:
        return None  # get_rows (token embeddings) and elementwise weights: neither type supports the op
    if platform.amx and (size := amx_bytes(group)) is not None:
        return Placement(group, AMX_BUFFER, "vnni", _pad(size) * group.count)
    layout = repack_layout(group, platform)
    if layout is None:
        return None
    # repack.cpp ggml_backend_cpu_repack_buffer_type: get_alloc_size is NULL, so each tensor takes ggml_nbytes
    return Placement(group, REPACK_BUFFER, layout, _pad(group.nbytes) * group.count)


def placements(weights: WeightComposition, platform: CpuPlatform) -> tuple[Placement, ...]:
    """Every group of matmul weights that is copied on this platform."""
    found = (place(group, platform) for group in weights.matmul_weights())
    return tuple(p for p in found if p is not None)


@dataclass(frozen=True)
class RepackBytes:
    """The extra weight buffers llama.cpp allocates on a platform, in bytes."""

    amx: int
    cpu_repack: int

    @property
    def total(self) -> int:
        """Both buffers together."""
        return self.amx + self.cpu_repack


def repack_bytes(weights: WeightComposition, platform: CpuPlatform) -> RepackBytes:
    """The sizes of the AMX and CPU_REPACK model buffers for these weights on this platform."""
    found = placements(weights, platform)
    return RepackBytes(sum(p.bytes for p in found if p.buffer == AMX_BUFFER),
                       sum(p.bytes for p in found if p.buffer == REPACK_BUFFER))

