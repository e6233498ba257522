"""Bytes one generated token reads, from the GGUF file itself: the check on the bandwidth rule's file-size estimate."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from generator.capacity.gguf_header import _reader_class


@dataclass(frozen=True)
class Weights:
    """The tensors of a GGUF file: their bytes, and whether the output layer is the token embedding (tied)."""

    file_bytes: int
    tensor_bytes: int  # every tensor's data, header and vocabulary excluded
    embedding_bytes: int  # token_embd.weight
    tied: bool  # no output.weight: the output layer multiplies by token_embd, reading all of it per token

    @property
    def read_per_token(self) -> int:
        """Weights read to generate one token: every tensor, except an untied embedding, of which one row is read."""
        return self.tensor_bytes if self.tied else self.tensor_bytes - self.embedding_bytes


def weights_of(path: Path) -> Weights:
    """The tensor table of a GGUF file (gguf's reader, with the header's arrays read in one piece)."""
    reader = _reader_class()(path)
    sizes = {str(t.name): int(t.n_bytes) for t in reader.tensors}
    return Weights(path.stat().st_size, sum(sizes.values()), sizes.get("token_embd.weight", 0),
                   "output.weight" not in sizes)
