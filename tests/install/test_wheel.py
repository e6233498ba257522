"""The wheel, as a user gets it: built from the sdist, installed into a fresh virtual environment, run in an
empty directory with no network at all. It carries everything the command needs.

Offline install: the fresh venv gets the wheel alone (`--no-index --no-deps`), and the dependencies
through a .pth line naming this test venv's site-packages. A .pth line only appends a directory to
sys.path; .pth files inside that directory (this repository's editable install among them) are not
read, so `generator` is the wheel's copy, which the test checks. The commands run in a new network
namespace (`unshare -n`: loopback only, down) where the machine allows it, else with every proxy
variable pointing at a closed port.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from generator.version import tool_version
from tests.conftest import REPO

WHEEL_FILES = (
    "generator/schemas/values.schema.json",
    "generator/schemas/crds/argoproj.io/application_v1alpha1.json",
    "generator/schemas/crds/LICENSE",
    "generator/templates/proxy/auth.lua",
    "generator/templates/proxy/nginx.conf.j2",
    "generator/templates/resources/workload.yaml.j2",
    "generator/templates/argocd/application.yaml.j2",
    "generator/templates/scaffold/github-workflow.yml.j2",
    "generator/templates/scaffold/values-env.yaml.j2",
)
CLOSED_PORT = "http://127.0.0.1:9"


def run(command: list[str | Path], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run a command; its output is in the assertion message when it fails."""
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False, timeout=300)
    assert result.returncode == 0, f"{command}: {result.stdout}{result.stderr}"
    return result


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """sdist and wheel, the wheel built from the sdist (as the release workflow builds them)."""
    out = tmp_path_factory.mktemp("dist")
    run([sys.executable, "-m", "build", "--no-isolation", "--outdir", out, REPO])
    return out


@pytest.fixture(scope="module")
def wheel(dist: Path) -> Path:
    (found,) = dist.glob("gemma_gitops-*-py3-none-any.whl")
    return found


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment with the wheel installed offline; its bin directory."""
    root = tmp_path_factory.mktemp("venv")
    run([sys.executable, "-m", "venv", "--without-pip", root])
    python = root / "bin" / "python"
    run([sys.executable, "-m", "pip", "--python", python, "install", "--no-index", "--no-deps", "--no-cache-dir", wheel])
    site = Path(run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip())
    (site / "dependencies-from-the-test-venv.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return root / "bin"


@functools.cache
def isolation() -> list[str]:
    """`unshare -n` when this machine lets us make a network namespace, else nothing (proxies do the rest)."""
    if shutil.which("unshare") and subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0:
        return ["unshare", "-n"]
    return []


def offline(venv: Path, home: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The installed gemma-gitops with no network: a clean environment, an empty cache, no reachable proxy."""
    environ = {"PATH": f"{venv}{os.pathsep}/usr/bin{os.pathsep}/bin", "HOME": str(home),
               "XDG_CACHE_HOME": str(home / "cache"), "LANG": "C.UTF-8",
               **{name: CLOSED_PORT for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY")}}
    return subprocess.run([*isolation(), venv / "gemma-gitops", *args], cwd=cwd, env=environ,
                          capture_output=True, text=True, check=False, timeout=300)


def test_the_wheel_carries_what_the_command_needs(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        assert set(WHEEL_FILES) <= names
        assert archive.read("generator/schemas/values.schema.json") == (REPO / "schemas/values.schema.json").read_bytes()
        assert not [name for name in names if name.startswith(("tests/", "testkit/", "bench/"))]


def test_the_sdist_builds_the_same_package(dist: Path) -> None:
    (sdist,) = dist.glob("gemma_gitops-*.tar.gz")
    assert sdist.name == f"gemma_gitops-{tool_version()}.tar.gz"


def test_the_installed_command_is_the_wheels(venv: Path, tmp_path: Path) -> None:
    found = run([venv / "python", "-c", "import generator; print(generator.__file__)"], cwd=tmp_path).stdout
    assert Path(found.strip()).is_relative_to(venv.parent), found
    assert offline(venv, tmp_path, tmp_path, "--version").stdout == (
        f"gemma-gitops {tool_version()} (llama.cpp b11434, ghcr.io/ggml-org/llama.cpp:server-b11434)\n")


def test_init_check_validate_template_offline_in_an_empty_directory(venv: Path, tmp_path: Path) -> None:
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    created = offline(venv, home, work, "init", "deploy")
    assert created.returncode == 0, created.stdout + created.stderr
    project = work / "deploy"
    nested = project / "rendered" / "prod"
    checked = offline(venv, home, nested, "check")
    assert (checked.returncode, checked.stdout) == (0, "in sync: 16 files for 1 environment(s)\nSummary: 12 resources "
                                                    "found in 12 files - Valid: 12, Invalid: 0, Errors: 0, Skipped: 0\n"), checked.stderr
    validated = offline(venv, home, nested, "validate")
    assert (validated.returncode, validated.stdout) == (
        0, "Summary: 12 resources found in 12 files - Valid: 12, Invalid: 0, Errors: 0, Skipped: 0\n"), validated.stderr
    printed = offline(venv, home, project, "template", "prod")
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout == "".join(p.read_text() for p in sorted(nested.iterdir()))
    bad = offline(venv, home, project, "template", "prod", "--set", "llama.contextSize=lots")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    downloads = home / "cache" / "gemma-gitops" / "schemas"  # where a downloaded schema would be kept
    assert not downloads.is_dir() or not any(downloads.glob("*.json"))  # nothing was downloaded
