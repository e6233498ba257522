"""The budget's table, bar and JSON, and `gemma-gitops budget` end to end on a small project."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from generator.capacity.budget import Fit, LlamaSettings, predict
from generator.capacity.catalog import CATALOG
from generator.capacity.report import (
    BAR_WIDTH,
    EnvironmentBudget,
    bar,
    legend,
    limits_line,
    summary,
    table,
    text,
    to_json,
)
from generator.cli import cli
from generator.errors import EXIT_BAD_INPUT, EXIT_FAILED
from generator.pipeline.budget import budget_of
from tests.conftest import REPO
from tests.plans import plan_for

GiB = 2**30
BUDGET = predict(CATALOG[0].geometry, LlamaSettings(embeddings=True))


def test_table_lists_every_part_and_the_total() -> None:
    lines = table(BUDGET, Fit(BUDGET.total, 0, 4 * GiB, None))
    assert [line.split()[0] for line in lines[1:]] == ["weights", "repack", "kv", "compute", "outputs", "prompt", "checkpoints", "overhead",
                                                  "total"]
    assert lines[1] == "  weights          806,500,000     769.1    18.8%"
    assert lines[2] == "  repack           485,330,688     462.8    11.3%"
    assert lines[-1] == "  total          2,869,955,232    2737.0    66.8%"


@pytest.mark.parametrize(("limit", "free", "over"), [(4 * GiB, 20, 0), (2 * GiB, 0, 15), (None, 0, 0)])
def test_bar_is_proportional(limit: int | None, free: int, over: int) -> None:
    drawn = bar(BUDGET, Fit(BUDGET.total, 0, limit, None))
    inner = drawn.strip()[1:-1]
    assert len(inner) == BAR_WIDTH
    assert (inner.count("."), inner.count("!")) == (free, over)
    assert inner.startswith("W" * 10) and "w" * 6 in inner


def test_legend_names_every_glyph() -> None:
    assert legend() == "  W weights, w repack, K kv cache, C compute, O outputs, P prompt cache, X checkpoints, R overhead, . free, ! over"


@pytest.mark.parametrize(("limit", "request_", "expected"), [
    (4 * GiB, 2 * GiB, "  limit 4.00 GiB, request 2.00 GiB, free 1.33 GiB"),
    (2 * GiB, None, "  limit 2.00 GiB, request unset, OVER by 689.0 MiB"),
    (None, None, "  limit unset, request unset, no limit to compare with"),
])
def test_limits_line(limit: int | None, request_: int | None, expected: str) -> None:
    assert limits_line(Fit(BUDGET.total, 0, limit, request_)) == expected


# The reference values with llama.cpp's default of 32 checkpoints per slot, the numbers below.
WORST: dict[str, Any] = {"llama__ctxCheckpoints": 32}
TIGHT: dict[str, Any] = {**WORST, "llama__resources__limits__memory": "2Gi"}


def env_budget(name: str = "prod", **changes: Any) -> EnvironmentBudget:
    return budget_of(plan_for("prod", name, **changes))


def test_text_report_of_the_reference() -> None:
    lines = text(env_budget(**WORST))
    assert lines[0] == "values/prod.yaml: gemma-3-1b-it (ggml-org/gemma-3-1b-it-GGUF/gemma-3-1b-it-Q4_K_M.gguf)"
    assert "  startupProbe: periodSeconds 10, failureThreshold 67 (670s for a 385s download and a 60s load)" in lines
    assert lines[-1].startswith("  values/prod.yaml::cache.size: [acknowledged] OCI block volumes are at least 50 GB")
    assert lines[-1].endswith("(acknowledged: OCI provisions and bills this claim as 50 GB, inside the Always Free "
                              "tier's 200 GB of block volumes)")


def test_json_is_one_sorted_document() -> None:
    document = to_json([env_budget(**WORST), env_budget("tight", **TIGHT)])
    data = json.loads(document)
    assert document.endswith("}\n]\n")
    assert [d["environment"] for d in data] == ["prod", "tight"]
    assert data[0]["budget"]["total"] == 2_869_955_232 and data[0]["budget"]["repack"] == 485_330_688 and data[0]["memory"]["fits"] is True
    assert data[0]["kvCells"]["swaPerStream"] == 1024 and data[0]["startupProbe"]["failureThreshold"] == 67
    assert data[1]["memory"]["free"] == 2 * GiB - 2_869_955_232 and len(data[1]["errors"]) == 1


def test_summary() -> None:
    envs = [env_budget(**WORST), env_budget("tight", **TIGHT)]
    assert summary(envs) == "Summary: 2 environments - Fit: 1, Errors: 1, Warnings: 0, Acknowledged: 4"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project with the repository's schema, the reference environment and one that cannot fit."""
    shutil.copytree(REPO / "schemas", tmp_path / "schemas")
    (tmp_path / "values").mkdir()
    prod = (REPO / "values" / "prod.yaml").read_text(encoding="utf-8")
    (tmp_path / "values" / "prod.yaml").write_text(prod, encoding="utf-8")
    tight = prod.replace("memory: 4Gi}", "memory: 2Gi}").replace("\nllama:\n", "\nllama:\n  ctxCheckpoints: 32\n")
    assert tight.count("2Gi}") == 2 and "ctxCheckpoints: 32" in tight
    (tmp_path / "values" / "tight.yaml").write_text(tight, encoding="utf-8")
    return tmp_path


def invoke(project: Path, *args: str) -> Any:
    """Run a command through the real command group."""
    return CliRunner().invoke(cli, ["--root", str(project), *args])


def test_budget_command_fits(project: Path) -> None:
    result = invoke(project, "budget", "prod")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == "values/prod.yaml: gemma-3-1b-it (ggml-org/gemma-3-1b-it-GGUF/gemma-3-1b-it-Q4_K_M.gguf)"
    assert result.output.splitlines()[-1] == "Summary: 1 environment - Fit: 1, Errors: 0, Warnings: 0, Acknowledged: 2"


def test_budget_command_fails_when_an_environment_does_not_fit(project: Path) -> None:
    result = invoke(project, "budget")
    assert result.exit_code == EXIT_FAILED
    assert "values/tight.yaml::llama.resources.limits.memory: [error] the predicted memory 2.67 GiB exceeds" in result.output


def test_budget_command_json(project: Path) -> None:
    result = invoke(project, "budget", "--output", "json", "tight", "prod")
    assert result.exit_code == EXIT_FAILED
    assert [d["environment"] for d in json.loads(result.output)] == ["tight", "prod"]


def test_budget_command_unknown_environment(project: Path) -> None:
    result = invoke(project, "budget", "staging")
    assert result.exit_code == EXIT_BAD_INPUT
    assert "unknown environment 'staging'" in result.output
