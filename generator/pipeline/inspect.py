"""inspect: a GGUF file's geometry, to paste under `model.geometry:`; reads no values."""

from __future__ import annotations

from pathlib import Path

from ..capacity.gguf_header import geometry_yaml, read_gguf
from ..errors import EXIT_OK
from . import Echo


def run_inspect(path: Path, echo: Echo) -> int:
    """Print the `model.geometry` block of a GGUF file."""
    echo(geometry_yaml(read_gguf(path)).rstrip("\n"))
    return EXIT_OK
