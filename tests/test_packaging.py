"""The package's copy of the values schema is the repository's, byte for byte (schemas/ is the source)."""

from __future__ import annotations

from generator.settings import PACKAGED_SCHEMA, Settings
from tests.conftest import REPO

FIX = "run `make render` (it copies schemas/values.schema.json into generator/schemas/)"


def test_the_packaged_schema_is_the_source() -> None:
    assert PACKAGED_SCHEMA.read_bytes() == (REPO / "schemas/values.schema.json").read_bytes(), FIX


def test_the_tools_own_repository_validates_with_its_source_and_a_project_with_the_packaged_copy() -> None:
    assert Settings(root=REPO).schema_path == REPO / "schemas/values.schema.json"
    assert Settings(root=REPO / "values" / "..").schema_path.resolve() == REPO / "schemas/values.schema.json"
    assert Settings(root=REPO / "tests").schema_path == PACKAGED_SCHEMA
