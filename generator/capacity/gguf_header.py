"""Read a model's geometry from its GGUF header, for `gemma-gitops inspect FILE.gguf`."""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import GeneratorError
from .catalog import GEMMA3_SWA_PATTERN, Geometry
from .tensors import WeightComposition, group_tensors

# The period llama.cpp assumes when a file carries a sliding window but no
# {arch}.attention.sliding_window_pattern key (ggml-org/llama.cpp b11434 src/models/<arch>.cpp:
# load_swa_pattern(ml, N)); only architectures whose full layer ends each period, as swaPattern means.
SWA_PATTERNS: dict[str, int] = {"gemma2": 2, "gemma3": GEMMA3_SWA_PATTERN, "gemma-embedding": 6, "cohere2": 4, "gpt-oss": 2}
# The longest metadata array read: 16x the largest vocabulary published (about 10^6 tokens). A forged
# length fails here before a loop walks it; real headers never come near.
MAX_ARRAY_ITEMS = 1 << 24


class GgufError(GeneratorError):
    """A file that is not a readable GGUF model."""


@dataclass(frozen=True)
class GgufInfo:
    """What the header says: the geometry, plus who made the file and what we had to guess."""

    path: Path
    architecture: str
    name: str
    geometry: Geometry
    sha256: str
    notes: tuple[str, ...]


def _reader_class() -> type:
    """gguf's GGUFReader, taught to read a metadata array in one piece instead of one element at a time."""
    import numpy as np  # imported here: only `inspect` needs gguf and numpy
    from gguf import GGUFReader, GGUFValueType

    class WholeArrayReader(GGUFReader):
        """GGUFReader makes numpy views per array element: 12 s here for Gemma's 262,144-token vocabulary.
        Here a scalar array is one view, and a string array keeps only [item type, length]: we just count it."""

        def _get_field_parts(self, orig_offs: int, raw_type: int) -> tuple[int, list[Any], list[int], list[Any]]:
            """Parse one field; arrays of scalars or strings in one step."""
            item = self._get(orig_offs, np.uint32) if GGUFValueType(raw_type) == GGUFValueType.ARRAY else None
            if item is None or GGUFValueType(item[0]) == GGUFValueType.ARRAY:
                return super()._get_field_parts(orig_offs, raw_type)
            length, offs = self._get(orig_offs + 4, np.uint64), orig_offs + 12
            if int(length[0]) > MAX_ARRAY_ITEMS:
                raise ValueError(f"a metadata array of {int(length[0])} items, above the {MAX_ARRAY_ITEMS} this tool reads")
            if GGUFValueType(item[0]) == GGUFValueType.STRING:
                order, raw = (">" if self.byte_order == "S" else "<"), self.data.data
                for _ in range(int(length[0])):
                    offs += 8 + struct.unpack_from(f"{order}Q", raw, offs)[0]
                return offs - orig_offs, [item, length], [], [GGUFValueType.ARRAY, GGUFValueType.STRING]
            values = self._get(offs, self.gguf_scalar_to_np[GGUFValueType(item[0])], length[0])
            return 12 + int(values.nbytes), [item, length, values], [2], [GGUFValueType.ARRAY, GGUFValueType(item[0])]

    return WholeArrayReader


def open_gguf(path: Path) -> Any:
    """A GGUF reader over the file, or a GgufError that says what is wrong with it."""
    if not path.exists():
        raise GgufError(f"{path}: no such file")
    if not path.is_file():
        raise GgufError(f"{path}: not a regular file")
    try:
        return _reader_class()(path)
    # the gguf parser raises whatever numpy or struct raise on garbage; all of it means "not a GGUF"
    except Exception as err:
        raise GgufError(f"{path}: not a readable GGUF model file ({err})") from err


def _scalar(reader: Any, key: str, default: int | None = None) -> int | None:
    """An integer field; for per-layer arrays, their largest value."""
    field = reader.fields.get(key)
    if field is None:
        return default
    value = field.contents()
    if isinstance(value, list):
        return max(int(v) for v in value) if value else default
    return int(value)


def _string(reader: Any, key: str) -> str:
    """A string field, or '' when absent."""
    field = reader.fields.get(key)
    return str(field.contents()) if field is not None else ""


def _required(reader: Any, path: Path, key: str) -> int:
    """A positive integer field the geometry cannot do without."""
    value = _scalar(reader, key)
    if value is None:
        raise GgufError(f"{path}: the GGUF header has no {key}; cannot tell this model's geometry")
    if value < 1:
        raise GgufError(f"{path}: the GGUF header says {key} is {value}; a model needs at least 1")
    return value


def period_of(flags: list[Any]) -> int:
    """The swaPattern N whose layout (layer il slides when il % N < N - 1) gives these per-layer flags; 0 if none.

    The first full-attention layer is il = N - 1, so N is the only candidate: checked in one pass (trying
    every N took 40 s for a header with 20,000 flags)."""
    slides = [bool(f) for f in flags]
    if all(slides):
        return 0
    n = slides.index(False) + 1
    return n if all((il % n < n - 1) == slide for il, slide in enumerate(slides)) else 0


def swa_layout(reader: Any, arch: str) -> tuple[int, int, tuple[str, ...]]:
    """(slidingWindow, swaPattern, notes), read as src/llama-model.cpp load_swa_pattern does."""
    window = _scalar(reader, f"{arch}.attention.sliding_window", 0) or 0
    if window == 0:
        return 0, 0, ()
    field = reader.fields.get(f"{arch}.attention.sliding_window_pattern")
    value = field.contents() if field is not None else SWA_PATTERNS.get(arch)
    pattern = period_of(value) if isinstance(value, list) else int(value or 0)
    if pattern:
        return window, pattern, ()
    note = (f"{arch} has a {window}-token sliding window in a layer layout this tool cannot express; swaPattern 0 "
            "budgets every layer at full context (safe, maybe generous)")
    return window, 0, (note,)


def weights_of(reader: Any) -> WeightComposition:
    """The file's tensors by stem, type and shape; the output matmul reuses token_embd when the file has no
    output.weight (src/models/*.cpp: create_tensor(..., TENSOR_DUPLICATED) when `output` is missing)."""
    tensors = [(t.name, t.tensor_type.name, tuple(int(n) for n in t.shape)) for t in reader.tensors]
    names = {name for name, _, _ in tensors}
    return WeightComposition(group_tensors(tensors), tied_output="output.weight" not in names and "token_embd.weight" in names)


def geometry_of(reader: Any, path: Path) -> tuple[str, Geometry, tuple[str, ...]]:
    """(architecture, geometry, notes) from an open reader."""
    arch = _string(reader, "general.architecture")
    if not arch:
        raise GgufError(f"{path}: the GGUF header names no general.architecture")
    n_embd, n_head = _required(reader, path, f"{arch}.embedding_length"), _required(reader, path, f"{arch}.attention.head_count")
    window, pattern, notes = swa_layout(reader, arch)
    tokens = reader.fields.get("tokenizer.ggml.tokens")  # parts [.., item type, length]: see _reader_class
    geometry = Geometry(
        file_size_bytes=path.stat().st_size,
        n_layer=_required(reader, path, f"{arch}.block_count"),
        n_head=n_head,
        n_head_kv=_scalar(reader, f"{arch}.attention.head_count_kv", n_head) or n_head,
        head_dim_k=_scalar(reader, f"{arch}.attention.key_length", n_embd // n_head) or n_embd // n_head,
        head_dim_v=_scalar(reader, f"{arch}.attention.value_length", n_embd // n_head) or n_embd // n_head,
        n_embd=n_embd,
        n_ff=_required(reader, path, f"{arch}.feed_forward_length"),
        n_vocab=int(tokens.parts[-1][0]) if tokens is not None else _required(reader, path, f"{arch}.vocab_size"),
        n_ctx_train=_required(reader, path, f"{arch}.context_length"),
        sliding_window=window,
        swa_pattern=pattern,
        weights=weights_of(reader),
    )
    return arch, geometry, notes


def sha256_of(path: Path) -> str:
    """The file's sha256, read a megabyte at a time."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_gguf(path: Path) -> GgufInfo:
    """Everything `inspect` reports about a GGUF file."""
    reader = open_gguf(path)
    try:
        arch, geometry, notes = geometry_of(reader, path)
        name = _string(reader, "general.name")
    except (KeyError, ValueError, TypeError, IndexError, ArithmeticError) as err:
        raise GgufError(f"{path}: the GGUF header is damaged ({err})") from err
    return GgufInfo(path, arch, name, geometry, sha256_of(path), notes)


def geometry_yaml(info: GgufInfo) -> str:
    """The `model.geometry` block, camelCase, with comments naming the file; LF and one trailing newline."""
    lines = [f"# {info.path.name}: {info.architecture}" + (f", {info.name}" if info.name else ""),
             f"# sha256 {info.sha256}"]
    lines += [f"# note: {note}" for note in info.notes]
    if info.geometry.weights is not None:
        by_type = ", ".join(f"{name} {size:,}" for name, size in info.geometry.weights.bytes_by_type().items())
        lines.append(f"# tensor bytes by type: {by_type}")
    lines += [f"{key}: {value}" for key, value in info.geometry.to_values().items()]
    return "\n".join(lines) + "\n"
