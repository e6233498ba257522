"""The Argo CD plugin: its generate command, run as plugin.yaml states it, prints rendered/<env>/ byte for byte.

argocd-cmp-server runs `command + args` with exec (no shell of its own), in the Application's source
directory of a fresh copy of the repository, with the sidecar's environment plus the Application's
plugin env prefixed `ARGOCD_ENV_` and the build variables (argoproj/argo-cd cmpserver/plugin/plugin.go,
docs/user-guide/build-environment.md). The test does the same, in a copy of the project.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REPO

PLUGIN = REPO / "integrations/argocd-cmp/plugin.yaml"
PROJECT_FILES = ("gemma-gitops.toml", "values", "schemas", "rendered", "argocd", "docs")


def spec() -> dict[str, Any]:
    document = yaml.safe_load(PLUGIN.read_text(encoding="utf-8"))
    assert (document["apiVersion"], document["kind"]) == ("argoproj.io/v1alpha1", "ConfigManagementPlugin")
    return dict(document["spec"])


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """What the sidecar receives: a copy of the repository's project files (no generator package in it)."""
    root = tmp_path / "repo"
    root.mkdir()
    for name in PROJECT_FILES:
        source = REPO / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, root / name)
    return root


def sidecar_environment(tmp_path: Path, **plugin_env: str) -> dict[str, str]:
    """The sidecar's own environment (gemma-gitops on PATH, nothing else of ours), Argo CD's build
    variables, and the Application's plugin env as ARGOCD_ENV_*."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}/usr/bin{os.pathsep}/bin",
        "HOME": str(home),
        "ARGOCD_APP_NAME": "gemma-prod",
        "ARGOCD_APP_NAMESPACE": "gemma",
        "ARGOCD_APP_PROJECT_NAME": "default",
        "ARGOCD_APP_REVISION": "f913b6cbf58aa5ae5ca1f8a2b149477aebcbd9d8",
        "ARGOCD_APP_REVISION_SHORT": "f913b6c",
        "ARGOCD_APP_REVISION_SHORT_8": "f913b6cb",
        "ARGOCD_APP_SOURCE_PATH": ".",
        "ARGOCD_APP_SOURCE_REPO_URL": "https://github.com/example/gemma-gitops.git",
        "ARGOCD_APP_SOURCE_TARGET_REVISION": "main",
        "KUBE_VERSION": "1.34.1",
        "KUBE_API_VERSIONS": "v1,apps/v1,networking.k8s.io/v1",
        **{f"ARGOCD_ENV_{name}": value for name, value in plugin_env.items()},
    }


def generate(checkout: Path, environ: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The generate command exactly as plugin.yaml states it, in the Application's path (the root)."""
    command = spec()["generate"]
    return subprocess.run([*command["command"], *command["args"]], cwd=checkout, env=environ,
                          capture_output=True, text=True, check=False, timeout=120)


@pytest.mark.parametrize("env", ["prod", "staging"])
def test_generate_prints_the_committed_tree_byte_for_byte(checkout: Path, tmp_path: Path, env: str) -> None:
    result = generate(checkout, sidecar_environment(tmp_path, ENVIRONMENT=env))
    assert result.returncode == 0, result.stderr
    committed = sorted((REPO / "rendered" / env).iterdir())
    assert result.stdout.encode("utf-8") == b"".join(path.read_bytes() for path in committed)
    documents = list(yaml.safe_load_all(result.stdout))
    assert len(documents) == len(committed) and None not in documents  # one object per file, as Argo CD splits it


def test_the_checkout_is_left_as_it_was(checkout: Path, tmp_path: Path) -> None:
    before = sorted((p.relative_to(checkout).as_posix(), p.read_bytes()) for p in checkout.rglob("*") if p.is_file())
    assert generate(checkout, sidecar_environment(tmp_path, ENVIRONMENT="prod")).returncode == 0
    after = sorted((p.relative_to(checkout).as_posix(), p.read_bytes()) for p in checkout.rglob("*") if p.is_file())
    assert after == before


@pytest.mark.parametrize(("plugin_env", "expected"), [
    ({}, "ARGOCD_ENV_ENVIRONMENT: set ENVIRONMENT in the Application: spec.source.plugin.env"),
    ({"ENVIRONMENT": "nope"}, "error: unknown environment 'nope': no values/nope.yaml (environments: prod, staging)"),
    ({"ENVIRONMENT": "-f/etc/passwd"}, "error: -f/etc/passwd is not a values/<env>.yaml file of the project at "),
    ({"ENVIRONMENT": "--root=/"}, "error: --root=/ is not a values/<env>.yaml file of the project at "),
    ({"ENVIRONMENT": "--help"}, "error: values/--help.yaml: environment name '--help' must be a lowercase RFC 1123 label"),
])
def test_a_missing_or_hostile_environment_fails_with_nothing_on_stdout(checkout: Path, tmp_path: Path,
                                                                      plugin_env: dict[str, str], expected: str) -> None:
    result = generate(checkout, sidecar_environment(tmp_path, **plugin_env))
    assert result.returncode != 0
    assert result.stdout == ""
    assert expected in result.stderr, result.stderr
    assert "root:" not in result.stderr  # /etc/passwd was never read


def test_discovery_finds_the_project_by_its_marker(checkout: Path) -> None:
    """argocd-cmp-server matches with Go's filepath.Glob(join(checkout, fileName)); Python's glob agrees here."""
    pattern = spec()["discover"]["fileName"]
    assert glob.glob(os.path.join(checkout, pattern)) == [os.path.join(checkout, pattern)]
    (checkout / "gemma-gitops.toml").unlink()
    assert glob.glob(os.path.join(checkout, pattern)) == []
