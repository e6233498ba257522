"""The canonical dump writes exactly what PyYAML's canonical dumper writes: the committed render, and worse."""

from __future__ import annotations

import datetime
import random
from pathlib import Path
from typing import Any

import pytest
import yaml

from generator import yamlemit, yamlio

REPO = Path(__file__).resolve().parents[2]
# Strings that test every decision of the emitter: plain or quoted, folded at the width, literal with
# indentation and chomping indicators, escapes, and plain text that would read back as another type.
AWKWARD = (
    "", " ", "a", "a b", "a  b", " lead", "trail ", "-", "- a", "-a", "?", "? a", ":", "a: b", "a:b", "#", "a #b", "a#b",
    "'", '"', "it's", 'say "hi"', "{", "}", "[a]", "!tag", "&anchor", "*alias", "%dir", "@at", "`tick", "|", ">", "<<",
    "=", "~", "null", "Null", "NULL", "true", "True", "yes", "no", "on", "off", "y", "n", "1", "-1", "+1", "0x1F",
    "0o17", "017", "1_000", "1e3", "1.5", ".5", ".inf", "-.inf", ".nan", "1:30", "2025-01-01", "2025-01-01T00:00:00Z",
    "é", "中文", "emoji 🙂", "tab\there", "bell\x07", "cr\rlf", "nel\x85x", "ls\u2028x", "bom\ufeffx", "\\back",
    "a\n", "a\nb", "a\nb\n", "a\n\n", "\na", "\n", "\n\n", " a\nb", "a\n b\n", "a \nb", "a\n\nb\n", "a\r\nb",
    "x" * 63, "x" * 64, "x" * 65, "x" * 200, "word " * 30, "word  " * 20, "a " * 40 + "b", "'quoted' " * 12,
    "long line with: a colon and # a hash that goes past the width of sixty-four columns", "/usr/local/bin/x",
    "https://example.com/a?b=c&d=e", "CKV_K8S_15=images are pinned by tag or digest, so IfNotPresent runs the same",
)
SCALARS: tuple[Any, ...] = (None, True, False, 0, 1, -7, 10**20, 1.5, -0.0, 1e20, 1e-7, float("inf"), float("-inf"))


def committed_documents() -> list[Any]:
    """Every document of the committed render."""
    files = [*sorted((REPO / "rendered").rglob("*.yaml")), *sorted((REPO / "argocd").glob("*.yaml"))]
    return [yamlio.load_one(f.read_text(encoding="utf-8")) for f in files]


def awkward_document(rng: random.Random, depth: int = 0) -> Any:
    """A random mapping or list, nested up to four deep, of awkward strings, scalars and empty collections."""
    def value() -> Any:
        roll = rng.random()
        if roll < 0.5:
            return rng.choice(AWKWARD)
        if roll < 0.7:
            return rng.choice(SCALARS)
        if roll < 0.8 or depth >= 3:
            return rng.choice(({}, [], rng.choice(AWKWARD) * rng.randint(1, 3)))
        return awkward_document(rng, depth + 1)

    if rng.random() < 0.3:
        return [value() for _ in range(rng.randint(1, 4))]
    keys = [rng.choice((*AWKWARD, *SCALARS, "k" * 127, "k" * 128)) for _ in range(rng.randint(1, 5))]
    return {key: value() for key in keys}


def test_the_committed_render_is_dumped_byte_for_byte() -> None:
    documents = committed_documents()
    assert len(documents) >= 20
    for doc in documents:
        assert yamlemit.dump(doc) == yamlemit.pyyaml_dump(doc)


@pytest.mark.parametrize("seed", range(8))
def test_awkward_documents_are_dumped_byte_for_byte(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(250):
        doc = awkward_document(rng)
        assert yamlemit.dump(doc) == yamlemit.pyyaml_dump(doc), doc


@pytest.mark.parametrize("text", AWKWARD)
@pytest.mark.parametrize("indent", [0, 1, 3])
def test_every_awkward_string_as_key_value_and_item(text: str, indent: int) -> None:
    doc: Any = {text: text, "k": [text, {text: [text]}], "long key " * 4: text}
    for _ in range(indent):
        doc = {"nested": [doc]}
    assert yamlemit.dump(doc) == yamlemit.pyyaml_dump(doc)


@pytest.mark.parametrize("doc", [
    {"when": datetime.date(2025, 1, 1)},  # a type the emitter leaves to PyYAML
    {"pair": ("a", 1)},
    {("a", "b"): 1},
    {"m" * 200: 1},  # a key PyYAML writes in the `? ` form
    {"a\nb": 1},
    "a scalar document",
    [],
    {},
])
def test_what_it_was_not_written_for_is_dumped_by_pyyaml(doc: Any) -> None:
    try:
        expected: str | type[Exception] = yamlemit.pyyaml_dump(doc)
    except yaml.YAMLError as err:
        expected = type(err)
    if isinstance(expected, str):
        assert yamlemit.dump(doc) == expected
    else:
        with pytest.raises(expected):
            yamlemit.dump(doc)


def test_memory_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(yamlemit, "_MEMO_LIMIT", 10)
    doc = {f"key {i}": f"value {i} " * (i % 20) for i in range(100)}
    assert yamlemit.dump(doc) == yamlemit.pyyaml_dump(doc)
    assert len(yamlemit._DECISIONS) <= 10 and len(yamlemit._WRITES) <= 10


# Characters that decide an analysis: breaks of every kind, spaces, indicators, quotes, control and
# Unicode characters at the edges of what PyYAML calls printable, and a byte-order mark.
ALPHABET = ("\n", "\n", " ", " ", "a", "b", "#", ":", "-", "?", "'", '"', "\t", "\r", "\x00", "\x7f", "\x85",
            "\xa0", "é", "\u2028", "\u2029", "\ud7ff", "\ue000", "\ufeff", "\ufffd", "\ufffe", "🙂", "\U0010ffff")


@pytest.mark.parametrize("seed", range(4))
def test_the_fast_analysis_of_a_string_is_pyyamls_or_none(seed: int) -> None:
    rng = random.Random(seed)
    emitter = yamlemit._Emitter()
    analysed = 0
    for _ in range(3000):
        alphabet = ALPHABET if rng.random() < 0.3 else [c for c in ALPHABET if c.isascii()]
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12)))
        if rng.random() < 0.9 and "\n" not in text:
            text = text[: len(text) // 2] + "\n" + text[len(text) // 2:]
        fast = yamlemit.fast_analysis(text)
        if fast is not None:
            analysed += 1
            assert vars(fast) == vars(emitter.analyze_scalar(text)), repr(text)
        else:
            assert "\n" not in text or not text.isascii()
    assert analysed > 1500


@pytest.mark.parametrize("seed", range(4))
def test_multiline_strings_are_dumped_byte_for_byte(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(500):
        lines = ["".join(rng.choice(ALPHABET[2:8]) for _ in range(rng.randint(0, 6))) for _ in range(rng.randint(1, 5))]
        text = "\n".join(lines) + rng.choice(("", "\n", "\n\n"))
        doc = {"k": text, "list": [text, {"deep": text}]}
        assert yamlemit.dump(doc) == yamlemit.pyyaml_dump(doc), repr(text)
