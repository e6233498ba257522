"""GPU serving: which layers llama.cpp offloads, and the memory budget split between RAM and VRAM.

Over budget.predict()'s result (the CPU-only budget): what moves to the GPU leaves RAM. Where the
split is llama.cpp's own rule it is cited from ggml-org/llama.cpp at b11434; the rest (tensor
sizes from the geometry, the CUDA overheads) are estimates that err high on the side they are
checked against, and none of it has run on a GPU here (the tests have none).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace

from .budget import Budget, Cells, LlamaSettings, cell_bytes
from .catalog import Geometry
from .quantity import GiB, MiB

# GPU memory as the card is sold, in GB (10^9 bytes): never more than the driver reports
# (nvidia-smi shows e.g. 15360 MiB for a T4 and 23028 MiB for an A10, both above 16 and 24 GB).
CARDS_GB: dict[str, int] = {
    "nvidia-t4": 16,
    "nvidia-a10": 24,
    "nvidia-l4": 24,
    "nvidia-v100-16gb": 16,
    "nvidia-v100-32gb": 32,
    "nvidia-l40s": 48,
    "nvidia-a100-40gb": 40,
    "nvidia-a100-80gb": 80,
    "nvidia-h100-80gb": 80,
}
# A MIG device is named by its compute slices and its memory in GB: `1g.10gb` (NVIDIA MIG user
# guide, "MIG Device Names").
MIG_PROFILE = re.compile(r"^([1-7])g\.([0-9]+)gb(\+me)?$")
# Not measured here (no GPU): the CUDA context, cuBLAS workspaces and the driver's reservations on
# each GPU, and the CUDA runtime libraries mapped into the process on the host.
CUDA_CONTEXT_BYTES = 512 * MiB
CUDA_HOST_BYTES = 512 * MiB


def gpu_memory_bytes(card: str, memory_gib: float, mig_profile: str) -> int | None:
    """One GPU's memory: `memoryGiB` when given, else the MIG slice's, else the card's; None when unknown."""
    if memory_gib > 0:
        return int(memory_gib * GiB)
    match = MIG_PROFILE.match(mig_profile)
    if match:
        return int(match.group(2)) * 10**9
    return CARDS_GB[card] * 10**9 if card in CARDS_GB else None


@dataclass(frozen=True)
class Offload:
    """What `-ngl` puts on the GPU.

    src/llama-model.cpp load_tensors: `i_gpu_start = max(n_layer + 1 - n_gpu_layers, 0)`; layers
    from there on go to the GPUs, and the output layer is layer n_layer, so it is the first to be
    offloaded; the input layer (token embeddings) always stays on the CPU.
    """

    layers: int  # repeating layers on the GPUs (the last ones)
    output: bool  # the output layer (logits) on the GPU

    @classmethod
    def of(cls, n_gpu_layers: int, n_layer: int) -> Offload:
        """The offload of `-ngl n_gpu_layers` for a model of n_layer repeating layers."""
        return cls(layers=min(max(n_gpu_layers - 1, 0), n_layer), output=n_gpu_layers >= 1)


def layer_params(g: Geometry) -> int:
    """Weights of one dense transformer layer: Q, K, V and O projections and a gated FFN (norms are negligible)."""
    qkv = g.n_embd * (g.n_head * g.head_dim_k + g.n_head_kv * (g.head_dim_k + g.head_dim_v))
    return qkv + g.n_head * g.head_dim_v * g.n_embd + 3 * g.n_embd * g.n_ff


def weight_bytes(g: Geometry, off: Offload) -> tuple[int, int]:
    """(bytes that go to VRAM, bytes of the memory-mapped file RAM no longer holds).

    The geometry does not say how each tensor is quantized, so the file's bytes are shared out per
    parameter. For VRAM the share assumes tied embeddings (fewer parameters: more bytes each); for
    RAM it assumes a separate output matrix (more parameters: fewer bytes each), so each side errs
    high. llama.cpp unmaps an offloaded tensor's pages from the mapped file once it is on the GPU
    (src/llama-model-loader.cpp unmap_weight → llama_mmap::unmap_fragment); the output layer's
    pages are not counted as freed, since with tied embeddings the input layer still reads them.
    """
    embd, layer = g.n_vocab * g.n_embd, layer_params(g)
    per_param_high = g.file_size_bytes / (embd + g.n_layer * layer)
    per_param_low = g.file_size_bytes / (2 * embd + g.n_layer * layer)
    vram = off.layers * layer * per_param_high + (embd * per_param_high if off.output else 0)
    return math.ceil(vram), math.floor(off.layers * layer * per_param_low)


def is_swa_layer(il: int, g: Geometry) -> bool:
    """llama_hparams::set_swa_pattern: layer il slides when il % n < n - 1 (and the model has a window)."""
    return g.swa_pattern > 0 and g.sliding_window > 0 and il % g.swa_pattern < g.swa_pattern - 1


def offloaded_kv_bytes(g: Geometry, s: LlamaSettings, cells: Cells, off: Offload) -> int:
    """The KV cache of the offloaded layers, which llama.cpp keeps on their GPU (offload_kqv, on by default)."""
    per_cell = cell_bytes(g, s) * cells.n_stream
    first = g.n_layer - off.layers
    return sum((cells.swa_per_stream if is_swa_layer(il, g) else cells.full_per_stream) * per_cell
               for il in range(first, g.n_layer))


@dataclass(frozen=True)
class GpuBudget:
    """What one replica needs on its GPUs, per part; `per_gpu` is the fullest GPU's need."""

    offload: Offload
    count: int
    weights: int  # offloaded layers and the output layer, across all GPUs
    kv_cache: int  # of the offloaded layers, across all GPUs
    compute: int  # the graph buffer, on every GPU
    cuda: int  # context and libraries, on every GPU
    output_weights: int  # on the last GPU only
    memory: int | None  # one GPU's memory, None when unknown

    @property
    def per_gpu(self) -> int:
        """The fullest GPU: its share of the layers and KV, the output layer, the compute buffer and CUDA's own."""
        shared = math.ceil((self.weights - self.output_weights + self.kv_cache) / self.count)
        return shared + self.output_weights + self.compute + self.cuda

    @property
    def fits(self) -> bool:
        """Whether the fullest GPU has room (unknown memory never fits: the budget cannot be checked)."""
        return self.memory is not None and self.per_gpu <= self.memory

    def parts(self) -> tuple[tuple[str, int], ...]:
        """(name, bytes) of the fullest GPU's need, part by part."""
        shared = math.ceil((self.weights - self.output_weights) / self.count)
        return (("weights", shared + self.output_weights), ("kv cache", math.ceil(self.kv_cache / self.count)),
                ("compute", self.compute), ("cuda", self.cuda))


def split(g: Geometry, s: LlamaSettings, budget: Budget, n_gpu_layers: int, count: int,
          memory: int | None) -> tuple[Budget, GpuBudget]:
    """(what stays in RAM, what goes to the GPUs) for a CPU budget and `-ngl n_gpu_layers` over `count` GPUs.

    The compute buffer is counted on both sides: llama.cpp reserves a graph buffer on each backend
    that runs a part of the graph, and the host's shrinks with full offload by an amount not
    measured here.
    """
    off = Offload.of(n_gpu_layers, g.n_layer)
    vram_weights, freed = weight_bytes(g, off)
    output = weight_bytes(g, Offload(0, off.output))[0]
    kv = offloaded_kv_bytes(g, s, budget.cells, off)
    host = replace(budget, weights=budget.weights - freed, kv_cache=budget.kv_cache - kv,
                   overhead=budget.overhead + CUDA_HOST_BYTES)
    return host, GpuBudget(off, count, vram_weights, kv, budget.compute, CUDA_CONTEXT_BYTES, output, memory)
