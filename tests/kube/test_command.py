"""`gemma-gitops validate` through click: exit codes, exact lines, JSON, kubeconform beside us."""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from generator.cli import cli
from generator.kube.config import ENV_SCHEMA_LOCATIONS
from tests.kube.conftest import NEGATIVE, POSITIVE

CLEAN = "Summary: 9 resources found in 9 files - Valid: 9, Invalid: 0, Errors: 0, Skipped: 0\n"



def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
    """Run `--root ... validate ...` as the console script would."""
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def test_a_clean_tree_exits_0(crd_schemas: Path) -> None:
    result = invoke("--root", str(POSITIVE), "validate", "--schema-location", str(crd_schemas))
    assert (result.exit_code, result.output) == (0, CLEAN)


def test_problems_exit_1_with_one_line_each(crd_schemas: Path) -> None:
    case = NEGATIVE / "dangling-volume"
    result = invoke("--root", str(case), "validate", "--schema-location", str(crd_schemas), str(case))
    assert result.exit_code == 1
    assert result.output == (case / "expected.txt").read_text()


def test_schema_locations_come_from_the_environment(crd_schemas: Path) -> None:
    result = invoke("--root", str(POSITIVE), "validate", env={ENV_SCHEMA_LOCATIONS: str(crd_schemas)})
    assert (result.exit_code, result.output) == (0, CLEAN)


def test_json_output(crd_schemas: Path) -> None:
    case = NEGATIVE / "bad-quantity"
    result = invoke(
        "--root", str(case), "validate", "--output", "json", "--schema-location", str(crd_schemas), str(case)
    )
    data = json.loads(result.output)
    assert result.exit_code == 1
    assert data["ok"] is False
    assert data["summary"]["invalid"] == 1
    assert data["kubernetesVersions"] == ["1.31", "1.34"]
    [resource] = data["resources"]
    assert (resource["kind"], resource["status"]) == ("Deployment", "invalid")
    assert resource["problems"] == [
        {
            "path": "$.spec.template.spec.containers[0].resources.limits.memory",
            "message": "'4GB' does not match the quantity format; use a Kubernetes quantity such as 4Gi, 4G or 500m",
            "source": "resource-quantity",
            "rule": "resource-quantity",
        }
    ]


def test_an_ignored_kind_is_reported_as_skipped(crd_schemas: Path) -> None:
    case = NEGATIVE / "unknown-kind"
    result = invoke(
        "--root", str(case), "validate", "--ignore-kind", "Widget", "--schema-location", str(crd_schemas), str(case)
    )
    assert result.exit_code == 0
    assert result.output == (
        "widget.yaml: skipped Widget 'gemma' (Widget is listed in ignore-kinds)\n"
        "Summary: 1 resource found in 1 file - Valid: 0, Invalid: 0, Errors: 0, Skipped: 1\n"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--schema-location", "x/{{.Grop}}.json"],
            "error: schema location 'x/{{.Grop}}.json': unknown template action",
        ),
        (["--schema-location", "/no/such/dir"], "error: schema location '/no/such/dir/{{.Group}}"),
        (["--kubernetes-version", "1.9"], "error: Kubernetes version '1.9' has no bundled schemas"),
        (["missing-dir"], "error: missing-dir: no such file or directory"),
    ],
)
def test_bad_options_exit_2_without_a_traceback(args: list[str], message: str, crd_schemas: Path) -> None:
    result = CliRunner().invoke(cli, ["--root", str(POSITIVE), "validate", *args], catch_exceptions=False)
    assert result.exit_code == 2
    assert result.output.startswith(message)


def test_missing_default_directories_exit_2(tmp_path: Path) -> None:
    result = invoke("--root", str(tmp_path), "validate")
    assert result.exit_code == 2
    assert f"error: nothing to validate: rendered/, argocd/ not found under {tmp_path}" in result.output


def test_outside_a_project_the_root_is_the_working_directory(crd_schemas: Path, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(POSITIVE, tmp_path / "tree")
    monkeypatch.chdir(tmp_path / "tree")
    result = CliRunner().invoke(cli, ["validate", "--schema-location", str(crd_schemas)], catch_exceptions=False)
    assert (result.exit_code, result.output) == (0, CLEAN)


def test_inside_a_project_the_root_is_found_from_a_subdirectory(crd_schemas: Path, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(POSITIVE, tmp_path, dirs_exist_ok=True)
    (tmp_path / "gemma-gitops.toml").write_text("")
    (tmp_path / "values").mkdir()
    monkeypatch.chdir(tmp_path / "rendered")
    result = CliRunner().invoke(cli, ["validate", "--schema-location", str(crd_schemas)], catch_exceptions=False)
    assert (result.exit_code, result.output) == (0, CLEAN)


def test_kubeconform_absent_is_said_and_not_a_pass(crd_schemas: Path, tmp_path: Path) -> None:
    env = {"PATH": str(tmp_path)}
    result = invoke(
        "--root", str(POSITIVE), "validate", "--kubeconform", "--schema-location", str(crd_schemas), env=env
    )
    assert result.exit_code == 0
    assert result.output == "kubeconform not on PATH: skipped\n" + CLEAN


def fake_kubeconform(directory: Path, exit_code: int) -> None:
    """A kubeconform stand-in that records its arguments and prints a summary line."""
    script = directory / "kubeconform"
    script.write_text(
        "#!/bin/sh\n"
        f'printf "%s\\n" "$@" > "{directory}/args-$$"\n'
        'echo "Summary: 9 resources found in 9 files - Valid: 9, Invalid: 0, Errors: 0, Skipped: 0"\n'
        f"exit {exit_code}\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)


def test_kubeconform_verdicts_are_reported_per_version(crd_schemas: Path, tmp_path: Path) -> None:
    fake_kubeconform(tmp_path, 0)
    env = {"PATH": f"{tmp_path}{os.pathsep}{os.environ['PATH']}"}
    result = invoke(
        "--root", str(POSITIVE), "validate", "--kubeconform", "--schema-location", str(crd_schemas), env=env
    )
    summary = "Summary: 9 resources found in 9 files - Valid: 9, Invalid: 0, Errors: 0, Skipped: 0"
    assert (
        result.output
        == f"kubeconform 1.31: passed: {summary} (exit 0)\nkubeconform 1.34: passed: {summary} (exit 0)\n" + CLEAN
    )
    argv = min(p.read_text().split("\n") for p in tmp_path.glob("args-*"))  # the 1.31 run
    assert argv[:8] == [
        "-strict",
        "-summary",
        "-output",
        "text",
        "-kubernetes-version",
        "1.31.0",
        "-schema-location",
        "default",
    ]
    assert argv[8:10] == [
        "-schema-location",
        f"{crd_schemas.as_posix()}/{{{{.Group}}}}/{{{{.ResourceKind}}}}_{{{{.ResourceAPIVersion}}}}.json",
    ]


def test_a_failing_kubeconform_fails_the_run(crd_schemas: Path, tmp_path: Path) -> None:
    fake_kubeconform(tmp_path, 1)
    env = {"PATH": f"{tmp_path}{os.pathsep}{os.environ['PATH']}"}
    result = invoke(
        "--root",
        str(POSITIVE),
        "validate",
        "--kubeconform",
        "--kubernetes-version",
        "1.34",
        "--schema-location",
        str(crd_schemas),
        env=env,
    )
    assert result.exit_code == 1
    assert "kubeconform 1.34: failed: Summary:" in result.output
