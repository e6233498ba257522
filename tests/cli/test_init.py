"""`init`: a new deployment repository that passes check and validate at once, and the upgrade of one."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

from generator.cli import cli
from generator.scaffold import MANAGED_MARK, managed_files
from generator.settings import PACKAGED_SCHEMA
from generator.version import tool_version

SCAFFOLD = [".github/workflows/gemma-gitops.yml", ".gitignore", ".pre-commit-config.yaml", "Makefile", "README.md",
            "gemma-gitops.toml", "values/_shared.yaml", "values/prod.yaml"]


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def files(root: Path) -> dict[str, bytes]:
    """Every file under root, by relative path."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def created(tmp_path: Path) -> Path:
    """A project made by `init` with its defaults."""
    root = tmp_path / "deploy"
    result = invoke("init", str(root))
    assert result.exit_code == 0, result.output
    return root


def test_init_writes_the_scaffold_and_renders_it(created: Path) -> None:
    written = files(created)
    assert [path for path in written if not path.startswith(("rendered/", "argocd/", "docs/", "schemas/"))] == SCAFFOLD
    assert {"argocd/prod.yaml", "docs/values.md", "rendered/prod/deployment-gemma.yaml"} <= set(written)
    assert written["schemas/values.schema.json"] == PACKAGED_SCHEMA.read_bytes()
    assert written["gemma-gitops.toml"].decode().endswith(f'\nversion = "{tool_version()}"\n')
    values = yaml.safe_load(written["values/prod.yaml"])
    assert values == {"hostname": "gemma.example.com", "namespace": "gemma", "kubernetesVersions": ["1.31", "1.34"],
                      "model": {"hfRepo": "ggml-org/gemma-3-1b-it-GGUF", "hfFile": "gemma-3-1b-it-Q4_K_M.gguf",
                                "alias": "gemma-3-1b-it"},
                      "argocd": {"repoURL": "https://github.com/example/gemma-deploy.git", "targetRevision": "main"}}
    assert written["values/prod.yaml"].startswith(b"# yaml-language-server: $schema=../schemas/values.schema.json\n")


def test_the_new_project_passes_check_and_validate_offline_at_once(created: Path, monkeypatch: pytest.MonkeyPatch,
                                                                    tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "empty-cache"))  # only the schemas the package carries
    monkeypatch.chdir(created / "values")
    assert invoke("check").exit_code == 0
    result = invoke("validate")
    assert (result.exit_code, result.output) == (0, "Summary: 12 resources found in 12 files - Valid: 12, Invalid: 0, "
                                                    "Errors: 0, Skipped: 0\n")


def test_every_scaffold_file_parses(created: Path) -> None:
    for path in (".github/workflows/gemma-gitops.yml", ".pre-commit-config.yaml", "values/_shared.yaml"):
        yaml.safe_load((created / path).read_text())
    workflow = yaml.safe_load((created / ".github/workflows/gemma-gitops.yml").read_text())
    runs = [step.get("run", "") for step in workflow["jobs"]["check"]["steps"]]
    assert f'python -m pip install "gemma-gitops=={tool_version()}"' in runs
    assert {"gemma-gitops check", "gemma-gitops validate"} <= set(runs)
    assert all("@" in step["uses"] and len(step["uses"].split("@")[1]) == 40
               for step in workflow["jobs"]["check"]["steps"] if "uses" in step)  # actions pinned by commit


def test_the_answers_shape_the_values(tmp_path: Path) -> None:
    root = tmp_path / "deploy"
    result = invoke("init", str(root), "--env", "staging", "--hostname", "llm.internal.example.org",
                    "--repo-url", "https://git.example.org/platform/llm.git", "--namespace", "llm",
                    "--kubernetes-version", "v1.33.2", "--kubernetes-version", "1.35", "--model", "qwen2.5-0.5b-instruct")
    assert result.exit_code == 0, result.output
    values = yaml.safe_load((root / "values/staging.yaml").read_text())
    assert (values["hostname"], values["namespace"], values["kubernetesVersions"]) == (
        "llm.internal.example.org", "llm", ["1.33", "1.35"])
    assert values["model"]["alias"] == "qwen2.5-0.5b-instruct"
    assert values["argocd"]["repoURL"] == "https://git.example.org/platform/llm.git"
    assert (root / "rendered/staging/deployment-gemma.yaml").is_file()


@pytest.mark.parametrize(("args", "expected"), [
    (["--hostname", "NOT A HOST"], "  values/prod.yaml::hostname (line 5): 'NOT A HOST' is not valid: "),
    (["--namespace", "Bad_Name"], "  values/prod.yaml::namespace (line 6): 'Bad_Name' is not valid: "),
    (["--kubernetes-version", "1.99"], "error: Kubernetes version '1.99' has no bundled schemas (available: "),
    (["--env", "Prod"], "Error: Invalid value for '--env': 'Prod' must be a lowercase RFC 1123 label, such as prod"),
    (["--model", "gpt-5"], "Error: Invalid value for '--model': 'gpt-5' is not one of "),
])
def test_bad_answers_exit_2_and_write_nothing(tmp_path: Path, args: list[str], expected: str) -> None:
    root = tmp_path / "deploy"
    result = invoke("init", str(root), *args)
    assert result.exit_code == 2
    assert any(line.startswith(expected) for line in result.output.splitlines()), result.output
    assert not root.exists() or files(root) == {}


def test_a_non_empty_directory_is_refused(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("ours\n")
    result = invoke("init", str(tmp_path))
    assert result.exit_code == 2
    assert result.output == (f"error: {tmp_path} is not empty (notes.txt): init starts a project in an empty directory; "
                             "pass --force to add the files it lacks and keep every file already there\n")
    assert files(tmp_path) == {"notes.txt": b"ours\n"}


def test_a_fresh_git_repository_counts_as_empty(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git/HEAD").write_text("ref: refs/heads/main\n")
    assert invoke("init", str(tmp_path)).exit_code == 0


def test_force_adds_what_is_missing_and_never_replaces_a_file(tmp_path: Path) -> None:
    (tmp_path / "Makefile").write_text("all:\n\techo ours\n")
    (tmp_path / "README.md").write_text("# Ours\n")
    result = invoke("init", str(tmp_path), "--force")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "Makefile").read_text() == "all:\n\techo ours\n"
    assert (tmp_path / "README.md").read_text() == "# Ours\n"
    assert "kept Makefile: it exists, and init never replaces a file" in result.stderr
    assert (tmp_path / "values/prod.yaml").is_file() and (tmp_path / "rendered/prod").is_dir()


# -- an existing project: the upgrade ----------------------------------------------------------


def test_init_in_an_up_to_date_project_says_so(created: Path) -> None:
    result = invoke("init", str(created))
    assert (result.exit_code, result.stdout) == (0, f"up to date with gemma-gitops {tool_version()}\n")


def test_init_shows_what_this_version_changes_and_upgrade_writes_it(created: Path) -> None:
    makefile = created / "Makefile"
    makefile.write_text(makefile.read_text().replace("$(GEMMA_GITOPS) budget", "$(GEMMA_GITOPS) budget --old"))
    (created / ".pre-commit-config.yaml").unlink()
    (created / "gemma-gitops.toml").write_text(
        (created / "gemma-gitops.toml").read_text().replace(tool_version(), "0.0.1"))
    before = files(created)
    result = invoke("init", str(created))
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert "-\t$(GEMMA_GITOPS) budget --old" in lines and "+\t$(GEMMA_GITOPS) budget" in lines
    assert '-version = "0.0.1"' in lines and f'+version = "{tool_version()}"' in lines
    assert "+ .pre-commit-config.yaml (new)" in lines
    assert lines[-1] == f"gemma-gitops {tool_version()} would change 3 file(s); `gemma-gitops init --upgrade` writes them"
    assert files(created) == before  # the dry run writes nothing

    upgraded = invoke("init", str(created), "--upgrade")
    assert upgraded.exit_code == 0, upgraded.output
    assert {f.path: f.data for f in managed_files(tool_version())}.items() <= files(created).items()
    assert invoke("init", str(created)).exit_code == 0


def test_a_managed_file_without_its_mark_is_the_teams(created: Path) -> None:
    makefile = created / "Makefile"
    ours = "".join(makefile.read_text().splitlines(keepends=True)[1:]) + "\nmine:\n\techo mine\n"
    makefile.write_text(ours)
    result = invoke("init", str(created))
    assert result.exit_code == 0  # nothing of the tool's to change
    assert f"  Makefile: yours (its first line no longer says {MANAGED_MARK!r}), left alone" in result.stdout
    assert invoke("init", str(created), "--upgrade").exit_code == 0
    assert makefile.read_text() == ours


def test_the_upgrade_shows_rendered_files_a_new_version_would_change(created: Path) -> None:
    deployment = created / "rendered/prod/deployment-gemma.yaml"
    deployment.write_text(deployment.read_text().replace("replicas: 1", "replicas: 3"))
    result = invoke("init", str(created))
    assert result.exit_code == 1
    assert ("rendered files a render would change: rendered/prod/deployment-gemma.yaml (`gemma-gitops check` shows how)"
            in result.stdout.splitlines())


@pytest.mark.parametrize(("args", "message"), [
    (["--hostname", "x.example.com"], "is a project already: answers (--hostname, --model, ...) only shape a new "
                                      "project's values; change values/ instead"),
    (["--force"], "is a project already: --force is for a directory that is not one; "
                  "`gemma-gitops init --upgrade` writes what this version changes"),
])
def test_options_for_a_new_project_are_refused_in_an_existing_one(created: Path, args: list[str], message: str) -> None:
    result = invoke("init", str(created), *args)
    assert (result.exit_code, result.output) == (2, f"error: {created} {message}\n")


def test_upgrade_needs_a_project(tmp_path: Path) -> None:
    result = invoke("init", str(tmp_path), "--upgrade")
    assert result.exit_code == 2
    assert result.output == f"error: {tmp_path}: not a gemma-gitops project (no gemma-gitops.toml); `gemma-gitops init` starts one\n"


def test_a_file_where_a_directory_must_be_is_one_line_and_nothing_is_written(tmp_path: Path) -> None:
    (tmp_path / "values").write_text("a file where init needs a directory\n")
    result = invoke("init", str(tmp_path), "--force")
    assert (result.exit_code, result.output) == (
        2, f"error: {tmp_path}: nothing written: a file stands where values/prod.yaml, values/_shared.yaml needs a directory\n")
    assert files(tmp_path) == {"values": b"a file where init needs a directory\n"}
