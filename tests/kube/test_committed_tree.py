"""The committed rendered/ and argocd/ validate clean and pass the policy scan, every environment."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from generator.cli import cli
from testkit.policy import assert_policy_clean

REPO = Path(__file__).resolve().parents[2]
ENVS = sorted(p.name for p in (REPO / "rendered").iterdir() if p.is_dir())


def test_committed_tree_validates_clean() -> None:
    result = CliRunner().invoke(cli, ["--root", str(REPO), "validate"])
    assert result.exit_code == 0, result.output
    files = len([*(REPO / "rendered").rglob("*.yaml"), *(REPO / "argocd").glob("*.yaml")])
    assert result.output.splitlines()[-1] == (
        f"Summary: {files} resources found in {files} files - Valid: {files}, Invalid: 0, Errors: 0, Skipped: 0")


@pytest.mark.parametrize("env", ENVS)
def test_rendered_environment_passes_checkov_and_yamllint(env: str) -> None:
    assert_policy_clean(REPO / "rendered" / env, root=REPO)


def test_argocd_passes_yamllint() -> None:
    assert_policy_clean(REPO / "argocd", root=REPO)


def test_an_environment_naming_an_unshipped_kubernetes_version_is_refused(project: Path) -> None:
    staging = project / "values/staging.yaml"
    staging.write_text(staging.read_text().replace('["1.34", "1.35"]', '["1.34", "1.99"]'))
    runner = CliRunner()
    assert runner.invoke(cli, ["--root", str(project), "render"]).exit_code == 0
    result = runner.invoke(cli, ["--root", str(project), "validate"])
    assert result.exit_code == 2
    assert "Kubernetes version '1.99' has no bundled schemas" in result.output
