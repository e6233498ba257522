"""The proxy mutant catalogue stays applicable: every mutant changes the current templates in exactly one place."""

from __future__ import annotations

from pathlib import Path

import pytest

from testkit.proxy_mutants import MUTANTS, TEMPLATES, Mutant

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("mutant", MUTANTS, ids=[m.name for m in MUTANTS])
def test_each_mutant_applies_exactly_once_and_changes_the_template(mutant: Mutant) -> None:
    text = (TEMPLATES / mutant.file).read_text(encoding="utf-8")
    assert text.count(mutant.search) == 1, f"{mutant.search!r} occurs {text.count(mutant.search)} times in {mutant.file}"
    assert mutant.apply(text) != text
    assert mutant.breaks and mutant.search != mutant.replace


def test_names_are_unique_and_every_expected_killer_exists() -> None:
    assert len({m.name for m in MUTANTS}) == len(MUTANTS)
    for mutant in MUTANTS:
        for node in mutant.killed_by:
            path, _, function = node.partition("::")
            assert (REPO / path).is_file(), f"{mutant.name}: no {path}"
            assert not function or f"def {function}(" in (REPO / path).read_text(encoding="utf-8"), f"{mutant.name}: no {node}"


def test_a_search_that_does_not_occur_once_is_refused() -> None:
    with pytest.raises(ValueError, match="occurs 2 times"):
        Mutant("x", "auth.lua", "a", "b", "nothing").apply("a a")
