"""Predict llama-server's resident memory from a model's geometry, the server settings and the CPU.

Every rule below is llama.cpp's own, cited by path in ggml-org/llama.cpp as of build b11434
(the build we deploy); the two estimates that are not exact (compute buffer, runtime overhead)
say how they were calibrated against llama-server b11434's startup log (tests/e2e's memory matrix).
"""

from __future__ import annotations

from dataclasses import dataclass

from .catalog import Geometry
from .platform import REFERENCE, CpuPlatform
from .quantity import MiB
from .repack import RepackBytes, repack_bytes

# Bytes per block and elements per block of the KV cache types llama-server accepts
# (common/arg.cpp kv_cache_types; sizes from the type_traits table in ggml/src/ggml.c:
# block_q8_0 = 32 int8 + one f16 scale = 34 bytes, block_q4_0 = 16 + 2 = 18, ...).
KV_TYPES: dict[str, tuple[int, int]] = {
    "f32": (1, 4), "f16": (1, 2), "bf16": (1, 2),
    "q8_0": (32, 34), "q4_0": (32, 18), "q4_1": (32, 20),
    "iq4_nl": (32, 18), "q5_0": (32, 22), "q5_1": (32, 24),
}

# src/llama-context.cpp: cparams.n_ctx = GGML_PAD(n_ctx, 256), and n_ctx_seq padded the same way;
# src/llama-kv-cache-iswa.cpp: "the SWA cache is always padded to 256 for performance".
CTX_PAD = 256
SWA_PAD = 256

# common/common.h: n_ctx_checkpoints = 32 per slot unless --ctx-checkpoints says otherwise. In
# tools/server/server-context.cpp the checkpoint at the last user message and the one near the
# end of a prompt bypass checkpoint_min_step, and create_checkpoint evicts only once the list is
# full, so a multi-turn chat in one slot fills every one of them; each slot keeps its own list
# (slot.prompt.checkpoints), so the count is per slot.
LLAMA_DEFAULT_CTX_CHECKPOINTS = 32
# A checkpoint is llama_state_seq_get_data_ext(..., LLAMA_STATE_SEQ_FLAGS_PARTIAL_ONLY): the SWA cache
# only (src/llama-kv-cache-iswa.cpp state_write), and of it only the slot's cells that are not
# SWA-masked (src/llama-kv-cache.cpp state_write: is_masked_swa(n_swa, .., pos, seq_pos_max) drops
# every cell n_swa or more positions behind), i.e. at most `slidingWindow` cells, although the SWA
# cache holds window + ubatch cells. Per cell state_write_meta writes pos, n_seq_id and the seq id
# (3 x 4 bytes); state_write_data writes per layer a type and a row size (4 + 8 bytes) for K and
# for V; the stream count, a cell count per stream and v_trans, n_layer, n_rot_k, n_rot_v (4 bytes each).
CHECKPOINT_CELL_META_BYTES = 12
CHECKPOINT_LAYER_HEADER_BYTES = 2 * (4 + 8)
CHECKPOINT_HEADER_BYTES = 4 + 4 * 4

# The compute buffer's attention masks: one [n_kv, n_tokens] mask per cache (full and SWA), F16
# because `-fa auto` resolves to flash attention on the CPU backend (src/llama-graph.cpp
# build_attn_inp_kq_mask: "flash attention requires an f16 mask"); graph reservation sees the
# whole cache (src/llama-kv-cache.cpp: llama_kv_cache_context(kv) sets n_kv = kv->get_size()).
MASK_BYTES_PER_ELEMENT = 2
# ggml-alloc reuses the memory of tensors no longer needed, so the compute buffer is the graph's
# widest point, on top of what lives through the whole graph (the masks, per-token inputs). Two
# candidates, F32 per token of the ubatch: the gated FFN's gate, up and gated product (3 x n_ff),
# or the output matmul's logits (n_vocab per output row); beside either lives the residual stream
# with its normed copies (5 x n_embd) and 128 bytes of per-token inputs and alignment (token ids, positions, output
# ids, ...). With --embeddings the per-token embeddings are kept as well (n_embd; llama.cpp needs them
# when pooling is none, with mean pooling this is 0.2 % high). Calibrated on llama-server b11434
# with Gemma 3 270M (n_embd 640, n_ff 2048) over ubatch 128-512, 1-4 slots, contexts 512-8192, f16
# and q8_0 caches, embeddings on and off, and with a Gemma-3-1B-shaped file (n_embd 1152, n_ff 6912):
# every prediction within 0.5 % of the logged "CPU compute buffer size", and never below it.
ACTIVATION_FF_FACTOR = 3
ACTIVATION_EMBD_FACTOR = 5
PER_TOKEN_INPUT_BYTES = 128
# A quantized cache gets Hadamard rotation matrices as graph inputs (src/llama-kv-cache.cpp: n_rot_k is
# the largest power of two from 64 dividing the head size, n_rot_v is 64, both only when the head
# size is a multiple of 64; build_input_k_rot/v_rot make them [n_rot, n_rot] F32), one pair per cache.
KV_ROT_MIN = 64

# Runtime overhead outside the KV, compute and output buffers and the weights: the binary's
# libraries, the heap (vocabulary tables, chat templates, HTTP threads), and each slot's sampler
# candidates (n_vocab x 12-byte llama_token_data, kept twice). Calibrated on llama-server b11434,
# Gemma 3 270M (262,144-token vocabulary), -np 1, idle after start: RSS 344.7 MiB = file 241.4 +
# CPU_REPACK 12.7 + KV 27.0 + compute 23.3 + outputs 1.0 + 39.3 MiB of the rest; this predicts
# 70 MiB for it, leaving 30 MiB for what the first requests allocate.
OVERHEAD_BASE = 40 * MiB
# The most AMX adds to a weight: Q8_0 blocks of 34 bytes get a 4-byte compensation (repack.py).
AMX_WORST_NUMERATOR, AMX_WORST_DENOMINATOR = 38, 34
OVERHEAD_PER_VOCAB_TOKEN = 96
SAMPLER_BYTES_PER_TOKEN_PER_SLOT = 2 * 12


@dataclass(frozen=True)
class LlamaSettings:
    """The llama-server flags that decide its memory, as the values spell them."""

    context_size: int = 4096
    batch_size: int = 512
    ubatch_size: int = 512
    parallel: int = 1
    cache_ram_mib: int = 0
    cache_type_k: str = "f16"
    cache_type_v: str = "f16"
    kv_unified: bool = False
    swa_full: bool = False
    embeddings: bool = False
    ctx_checkpoints: int = LLAMA_DEFAULT_CTX_CHECKPOINTS


def pad(value: int, multiple: int) -> int:
    """GGML_PAD: round up to a multiple."""
    return (value + multiple - 1) // multiple * multiple


@dataclass(frozen=True)
class Cells:
    """How llama.cpp lays out the KV cache for these settings."""

    n_ctx: int  # total context after padding (what llama.cpp logs as n_ctx)
    n_ctx_seq: int  # context one slot can use (n_ctx_seq)
    n_stream: int  # separate KV streams: 1 when unified, else one per slot
    full_per_stream: int  # cells of each full-attention layer, per stream
    swa_per_stream: int  # cells of each sliding-window layer, per stream (0: no SWA layers)
    full_layers: int
    swa_layers: int
    n_batch: int  # effective -b
    n_ubatch: int  # effective -ub


def context_layout(context_size: int, parallel: int, unified: bool) -> tuple[int, int, int]:
    """(n_ctx, n_ctx_seq, n_stream) as src/llama-context.cpp computes them."""
    n_ctx = pad(context_size, CTX_PAD)
    if unified:
        return n_ctx, n_ctx, 1
    n_ctx_seq = pad(n_ctx // parallel, CTX_PAD)
    # "n_ctx is not divisible by n_seq_max": llama.cpp then sets n_ctx = n_ctx_seq * n_seq_max
    return n_ctx_seq * parallel, n_ctx_seq, parallel


def swa_cells(n_ctx_seq: int, window: int, parallel: int, n_ubatch: int, unified: bool, swa_full: bool) -> int:
    """Cells per stream of a sliding-window layer (src/llama-kv-cache-iswa.cpp)."""
    if swa_full:
        return n_ctx_seq
    return pad(min(n_ctx_seq, window * (parallel if unified else 1) + n_ubatch), SWA_PAD)


def swa_layer_count(n_layer: int, pattern: int, window: int) -> int:
    """Layers that slide: llama_hparams::set_swa_pattern marks layer il as SWA when il % n < n - 1."""
    if pattern <= 0 or window <= 0:
        return 0
    return sum(1 for il in range(n_layer) if il % pattern < pattern - 1)


def effective_batches(s: LlamaSettings, n_ctx: int) -> tuple[int, int]:
    """(n_batch, n_ubatch) after llama-server and llama_context clamp them."""
    n_batch = s.batch_size
    if s.embeddings and n_batch > s.ubatch_size:
        n_batch = s.ubatch_size  # tools/server/server.cpp: embeddings need one ubatch per batch
    n_batch = min(n_ctx, n_batch)  # src/llama-context.cpp: causal attention, batch <= context
    return n_batch, min(n_batch, s.ubatch_size)


def kv_layout(g: Geometry, s: LlamaSettings) -> Cells:
    """The KV cache layout of a model under these settings."""
    n_ctx, n_ctx_seq, n_stream = context_layout(s.context_size, s.parallel, s.kv_unified)
    n_batch, n_ubatch = effective_batches(s, n_ctx)
    n_swa_layers = swa_layer_count(g.n_layer, g.swa_pattern, g.sliding_window)
    per_stream_swa = 0
    if n_swa_layers:
        per_stream_swa = swa_cells(n_ctx_seq, g.sliding_window, s.parallel, n_ubatch, s.kv_unified, s.swa_full)
    # src/llama-model.cpp create_memory passes n_ctx_seq as each stream's size
    # (src/llama-kv-cache.cpp: ggml_new_tensor_3d(ctx, type_k, n_embd_k_gqa, kv_size, n_stream))
    return Cells(n_ctx, n_ctx_seq, n_stream, n_ctx_seq, per_stream_swa,
                 g.n_layer - n_swa_layers, n_swa_layers, n_batch, n_ubatch)


def row_bytes(cache_type: str, elements: int) -> int:
    """ggml_row_size: bytes of one row of `elements` values of a cache type."""
    block, size = KV_TYPES[cache_type]
    return (elements + block - 1) // block * size


def cell_bytes(g: Geometry, s: LlamaSettings) -> int:
    """Bytes one cell takes in one layer: a K row and a V row of n_head_kv heads."""
    return row_bytes(s.cache_type_k, g.n_head_kv * g.head_dim_k) + row_bytes(s.cache_type_v, g.n_head_kv * g.head_dim_v)


def kv_cache_bytes(g: Geometry, s: LlamaSettings, cells: Cells) -> int:
    """The whole KV cache: full layers hold n_ctx_seq cells per stream, sliding layers fewer."""
    per_stream = cells.full_layers * cells.full_per_stream + cells.swa_layers * cells.swa_per_stream
    return per_stream * cells.n_stream * cell_bytes(g, s)


def outputs_max(s: LlamaSettings, n_batch: int) -> int:
    """Rows of logits a batch may ask for (tools/server/server-context.cpp server_output_limits)."""
    if s.embeddings:
        return n_batch  # embeddings: every token of the batch is an output
    return min(n_batch, s.parallel)  # one sampled token per slot, no speculative decoding


def rotation_size(head_dim: int, grow: bool) -> int:
    """n_rot of a quantized cache (src/llama-kv-cache.cpp): 64, doubled while it divides the head (K only)."""
    if head_dim % KV_ROT_MIN:
        return 0
    n_rot = KV_ROT_MIN
    while grow and head_dim % (2 * n_rot) == 0:
        n_rot *= 2
    return n_rot


def kv_rotation_bytes(g: Geometry, s: LlamaSettings, cells: Cells) -> int:
    """The Hadamard matrices a quantized KV cache adds to the graph inputs, for each cache (full, SWA)."""
    n_rot_k = rotation_size(g.head_dim_k, grow=True) if KV_TYPES[s.cache_type_k][0] > 1 else 0
    n_rot_v = rotation_size(g.head_dim_v, grow=False) if KV_TYPES[s.cache_type_v][0] > 1 else 0
    caches = 1 + (cells.swa_layers > 0)
    return caches * 4 * (n_rot_k * n_rot_k + n_rot_v * n_rot_v)


def compute_bytes(g: Geometry, s: LlamaSettings, cells: Cells) -> int:
    """The CPU compute buffer reserved for the worst-case prompt-processing graph."""
    # src/llama-context.cpp sched_reserve: n_tokens = min(n_ctx, n_ubatch), outputs capped by n_outputs_max
    n_tokens = min(cells.n_ctx, cells.n_ubatch)
    n_outputs = min(n_tokens, outputs_max(s, cells.n_batch))
    # src/llama-graph.cpp build_attn_inp_kq_mask: [n_kv, n_tokens/n_stream, 1, n_stream], n_kv the whole cache
    masks = MASK_BYTES_PER_ELEMENT * n_tokens * (cells.full_per_stream + cells.swa_per_stream)
    embd_rows = ACTIVATION_EMBD_FACTOR + (1 if s.embeddings else 0)
    residual = n_tokens * (4 * embd_rows * g.n_embd + PER_TOKEN_INPUT_BYTES)
    ffn = 4 * n_tokens * ACTIVATION_FF_FACTOR * g.n_ff
    logits = 4 * g.n_vocab * n_outputs  # the result tensor of the output matmul, F32
    return masks + kv_rotation_bytes(g, s, cells) + residual + max(ffn, logits)


def output_rows_bytes(g: Geometry, s: LlamaSettings, rows: int) -> int:
    """The host output buffer for `rows` output rows: logits, and embeddings when on, F32."""
    # src/llama-context.cpp output_reserve: (n_vocab + n_embd if embeddings) * max(n_outputs, n_seq_max) floats
    width = g.n_vocab + (g.n_embd if s.embeddings else 0)
    return 4 * width * max(rows, s.parallel)


def output_buffer_bytes(g: Geometry, s: LlamaSettings, cells: Cells) -> int:
    """The host output buffer at its largest: a row for every output a batch may ask for."""
    return output_rows_bytes(g, s, outputs_max(s, cells.n_batch))


def output_startup_bytes(g: Geometry, s: LlamaSettings) -> int:
    """The output buffer as llama-server logs it at startup: llama_context reserves n_seq_max rows, then
    grows it on demand, silently in release builds (the message is under #ifndef NDEBUG)."""
    return output_rows_bytes(g, s, s.parallel)


def checkpoint_size(g: Geometry, s: LlamaSettings, cells: Cells) -> int:
    """Bytes of one context checkpoint (see CHECKPOINT_CELL_META_BYTES for the layout)."""
    if cells.swa_layers == 0:
        return 0
    window_cells = min(g.sliding_window, cells.n_ctx_seq)
    per_cell = cells.swa_layers * cell_bytes(g, s) + CHECKPOINT_CELL_META_BYTES
    headers = CHECKPOINT_HEADER_BYTES + 4 * cells.n_stream + cells.swa_layers * CHECKPOINT_LAYER_HEADER_BYTES
    return window_cells * per_cell + headers


def checkpoint_bytes(g: Geometry, s: LlamaSettings, cells: Cells) -> int:
    """Context checkpoints the server keeps, every slot its own list (host memory)."""
    # tools/server/server-context.cpp: checkpoints only when the model uses SWA and not --swa-full
    # (n_swa = params_base.swa_full ? 0 : llama_model_n_swa(model)), at most --ctx-checkpoints per slot
    if cells.swa_layers == 0 or s.swa_full or s.ctx_checkpoints <= 0:
        return 0
    return s.parallel * s.ctx_checkpoints * checkpoint_size(g, s, cells)


def kv_cache_split(g: Geometry, s: LlamaSettings, cells: Cells) -> tuple[int, int]:
    """(full-attention cache, sliding-window cache) bytes: llama.cpp's two `llama_kv_cache: size` lines."""
    per_cell = cells.n_stream * cell_bytes(g, s)
    return cells.full_layers * cells.full_per_stream * per_cell, cells.swa_layers * cells.swa_per_stream * per_cell


def repack_for(g: Geometry, platform: CpuPlatform) -> RepackBytes:
    """The AMX and CPU_REPACK model buffers on this platform; without the model's tensor list, the worst
    case: every byte of the file copied, at AMX's largest expansion when the platform has AMX."""
    if g.weights is not None:
        return repack_bytes(g.weights, platform)
    if platform.amx:
        return RepackBytes(-(-g.file_size_bytes * AMX_WORST_NUMERATOR // AMX_WORST_DENOMINATOR), 0)
    return RepackBytes(0, g.file_size_bytes)


def overhead_bytes(g: Geometry, s: LlamaSettings) -> int:
    """Process memory outside the ggml buffers (see OVERHEAD_BASE for what it covers)."""
    return OVERHEAD_BASE + g.n_vocab * (OVERHEAD_PER_VOCAB_TOKEN + s.parallel * SAMPLER_BYTES_PER_TOKEN_PER_SLOT)


@dataclass(frozen=True)
class Budget:
    """Predicted resident memory of one llama-server container, in bytes, part by part."""

    weights: int  # the GGUF file: mmap'd pages are charged to the container's cgroup
    kv_cache: int
    compute: int
    outputs: int
    prompt_cache: int  # --cache-ram, filled as idle slots are saved
    checkpoints: int
    overhead: int
    cells: Cells
    # The repacked copy of some weights (AMX and CPU_REPACK buffers) on the target CPU; the mapped
    # pages of those weights stay resident beside it (they were read to make the copy).
    repack: int = 0
    platform: CpuPlatform = REFERENCE

    @property
    def total(self) -> int:
        """Everything together."""
        return sum(size for _, size in self.parts())

    def parts(self) -> tuple[tuple[str, int], ...]:
        """(name, bytes) of each part, in the order the report shows them."""
        return (
            ("weights", self.weights), ("repack", self.repack), ("kv cache", self.kv_cache),
            ("compute", self.compute), ("outputs", self.outputs), ("prompt cache", self.prompt_cache),
            ("checkpoints", self.checkpoints), ("overhead", self.overhead),
        )


def predict(g: Geometry, s: LlamaSettings, platform: CpuPlatform = REFERENCE) -> Budget:
    """The memory budget of a model served with these settings on this CPU (default: the reference
    deployment's Ampere A1 nodes; the plan passes the platform its values target)."""
    cells = kv_layout(g, s)
    return Budget(
        weights=g.file_size_bytes,
        kv_cache=kv_cache_bytes(g, s, cells),
        compute=compute_bytes(g, s, cells),
        outputs=output_buffer_bytes(g, s, cells),
        prompt_cache=s.cache_ram_mib * MiB,
        checkpoints=checkpoint_bytes(g, s, cells),
        overhead=overhead_bytes(g, s),
        cells=cells,
        repack=repack_for(g, platform).total,
        platform=platform,
    )


@dataclass(frozen=True)
class Fit:
    """A budget against the container's memory limit and request."""

    total: int
    floor: int  # weights + repack + KV cache: what the container needs before it serves anything
    limit: int | None
    request: int | None

    @property
    def headroom(self) -> int | None:
        """Bytes left under the limit (negative: over it)."""
        return None if self.limit is None else self.limit - self.total

    @property
    def fits(self) -> bool:
        """True when there is no limit or the budget is within it."""
        return self.limit is None or self.total <= self.limit


def compare(budget: Budget, limit: int | None, request: int | None) -> Fit:
    """Compare a budget with the memory limit and request (bytes, None when unset)."""
    return Fit(budget.total, budget.weights + budget.repack + budget.kv_cache, limit, request)
