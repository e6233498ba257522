"""A GGUF with another model's exact tensor layout and zero weights, to measure llama.cpp's buffers for it.

Every buffer llama.cpp allocates (mapped weights, CPU_REPACK/AMX copies, KV cache, compute, output)
depends only on the header: hyperparameters, tensor names, types and shapes. So the catalog's
Gemma 3 1B Q4_K_M layout (catalog.gemma3_q4_k_m), written over the real 270M file's metadata (the
same Gemma 3 tokenizer and 262,144-token vocabulary) with the 1B's hyperparameters patched in, loads
in the pinned llama-server exactly as the 1B would, and llama.cpp's own shape checks
(llama_model_loader::check_tensor_dims) refuse it if a single tensor's shape is wrong. The tensor
data is a sparse hole of zeros: nothing is downloaded and the file takes no disk space.
"""

from __future__ import annotations

import struct
from pathlib import Path

from generator.capacity.catalog import Geometry
from generator.capacity.gguf_header import open_gguf
from generator.capacity.tensors import TensorGroup, WeightComposition

ALIGNMENT = 32  # GGUF_DEFAULT_ALIGNMENT (no general.alignment key in the template)
HEADER = struct.Struct("<4sIQQ")  # magic, version, tensor count, KV count
GGML_TYPE_IDS = {"F32": 0, "F16": 1, "Q4_0": 2, "Q4_1": 3, "Q5_0": 6, "Q5_1": 7, "Q8_0": 8, "Q2_K": 10, "Q3_K": 11,
                 "Q4_K": 12, "Q5_K": 13, "Q6_K": 14, "IQ4_NL": 20, "IQ4_XS": 23, "BF16": 30, "MXFP4": 39}


def hparams(arch: str, g: Geometry) -> dict[str, int]:
    """The uint32 header keys that carry a Geometry, with the values to write."""
    return {f"{arch}.block_count": g.n_layer, f"{arch}.embedding_length": g.n_embd, f"{arch}.feed_forward_length": g.n_ff,
            f"{arch}.attention.head_count": g.n_head, f"{arch}.attention.head_count_kv": g.n_head_kv,
            f"{arch}.attention.key_length": g.head_dim_k, f"{arch}.attention.value_length": g.head_dim_v,
            f"{arch}.context_length": g.n_ctx_train, f"{arch}.attention.sliding_window": g.sliding_window}


def template_kv(template: Path, arch: str, g: Geometry) -> tuple[int, bytes]:
    """(KV count, the template's KV section) with the geometry's values patched in place (same uint32 type)."""
    from gguf import GGUFValueType

    reader = open_gguf(template)
    start, end = HEADER.size, int(reader.tensors[0].field.offset)
    section = bytearray(reader.data[start:end].tobytes())
    for key, value in hparams(arch, g).items():
        field = reader.fields[key]
        assert field.types == [GGUFValueType.UINT32], f"{template}: {key} is {field.types}, not one uint32"
        at = int(field.offset) - start + 8 + len(key.encode()) + 4  # key length, key, value type, then the value
        struct.pack_into("<I", section, at, value)
    kv_count = int(reader.fields["GGUF.kv_count"].parts[-1][0])
    return kv_count, bytes(section)


def tensor_names(weights: WeightComposition, n_layer: int) -> list[tuple[str, TensorGroup]]:
    """One (name, group) per tensor: per-layer stems hand out blk.0 .. blk.N-1 across their groups in order."""
    per_stem: dict[str, int] = {}
    for group in weights.groups:
        per_stem[group.stem] = per_stem.get(group.stem, 0) + group.count
    named, next_layer = [], dict.fromkeys(per_stem, 0)
    for group in weights.groups:
        for _ in range(group.count):
            if per_stem[group.stem] == n_layer and n_layer > 1:
                named.append((f"blk.{next_layer[group.stem]}.{group.stem}.weight", group))
                next_layer[group.stem] += 1
            else:
                named.append((f"{group.stem}.weight", group))
    return named


def pad(size: int) -> int:
    """Round up to the GGUF alignment."""
    return (size + ALIGNMENT - 1) // ALIGNMENT * ALIGNMENT


def tensor_infos(named: list[tuple[str, TensorGroup]]) -> tuple[bytes, int]:
    """The tensor-info section and the size of the data section (each tensor aligned)."""
    out, offset = bytearray(), 0
    for name, group in named:
        dims = (group.ne0,) if group.ne1 == 1 else (group.ne0, group.ne1)
        out += struct.pack("<Q", len(name.encode())) + name.encode() + struct.pack("<I", len(dims))
        out += b"".join(struct.pack("<Q", d) for d in dims)
        out += struct.pack("<IQ", GGML_TYPE_IDS[group.ggml_type], offset)
        offset = pad(offset + group.nbytes)
    return bytes(out), offset


def write_shaped(template: Path, arch: str, g: Geometry, target: Path) -> Path:
    """Write the shaped GGUF at `target` (the data a sparse hole) and return it."""
    assert g.weights is not None, "a shaped file needs the model's tensor list"
    kv_count, kv = template_kv(template, arch, g)
    named = tensor_names(g.weights, g.n_layer)
    infos, data_size = tensor_infos(named)
    header = HEADER.pack(b"GGUF", 3, len(named), kv_count) + kv + infos
    with open(target, "wb") as out:
        out.write(header + b"\0" * (pad(len(header)) - len(header)))
        out.truncate(pad(len(header)) + data_size)
    return target
