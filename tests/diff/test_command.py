"""`diff` on a real git repository: the base rendered by its own generator, the working tree in process."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.diff.conftest import Diff, Git, commit, copy_project, git_in, init_repository, invoke_diff, set_value

CONTEXT = "  ~ Deployment default/gemma: spec.template.spec.containers[llama-server].args: -c 4096 → -c 8192"
STORE = {"enabled": True, "vaultOcid": "ocid1.vault.oc1.eu-frankfurt-1.abcdefghijklmnopqrstuvwxyz",
         "region": "eu-frankfurt-1"}


def short(git: Git, ref: str = "HEAD") -> str:
    return git("rev-parse", "--short", ref)


def test_a_changed_field_shows_its_path_and_the_changed_segment(diff: Diff, repo: Path, git: Git) -> None:
    set_value(repo, "prod", ("llama", "contextSize"), 8192)
    result = diff()
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        f"Comparing the working tree with {short(git)} (merge base of HEAD and main).",
        "",
        "prod: 1 changed, 0 added, 0 removed",
        CONTEXT,
        "",
        "staging: no changes",
    ]


def test_an_added_resource(diff: Diff, repo: Path) -> None:
    set_value(repo, "prod", ("apiKey", "clusterSecretStore"), STORE)
    result = diff("prod")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[1:] == [
        "", "prod: 0 changed, 1 added, 0 removed", "  + ClusterSecretStore oci-vault"]


def test_removed_resources(diff: Diff, repo: Path) -> None:
    set_value(repo, "prod", ("tls", "enabled"), False)
    result = diff("prod")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[1:] == [
        "", "prod: 0 changed, 0 added, 2 removed",
        "  - Certificate default/gemma-tls",
        "  - ReferenceGrant default/gemma-tls-gateway",
    ]


def test_the_default_base_is_the_merge_base_with_main(diff: Diff, repo: Path, git: Git) -> None:
    fork = short(git)
    git("checkout", "--quiet", "-b", "feature")
    set_value(repo, "prod", ("llama", "contextSize"), 8192)
    commit(repo, "feature: a larger context")
    git("checkout", "--quiet", "main")
    set_value(repo, "staging", ("llama", "batchSize"), 256)
    main = commit(repo, "main moves on")
    git("checkout", "--quiet", "feature")
    set_value(repo, "prod", ("tls", "enabled"), False)  # uncommitted: the working tree is what counts
    prod = ["prod: 1 changed, 0 added, 2 removed", CONTEXT, "  - Certificate default/gemma-tls",
            "  - ReferenceGrant default/gemma-tls-gateway"]

    assert diff().output.splitlines() == [
        f"Comparing the working tree with {fork} (merge base of HEAD and main).", "", *prod, "", "staging: no changes"]
    # against main itself, main's own later change shows up, reversed
    assert diff("--base", "main").output.splitlines() == [
        f"Comparing the working tree with {main} (--base main).", "", *prod, "",
        "staging: 1 changed, 0 added, 0 removed",
        "  ~ Deployment gemma-staging/gemma: spec.template.spec.containers[llama-server].args:"
        " --batch-size 256 → --batch-size 512",
    ]


def test_markdown(diff: Diff, repo: Path, git: Git) -> None:
    set_value(repo, "prod", ("llama", "contextSize"), 8192)
    set_value(repo, "prod", ("tls", "enabled"), False)
    result = diff("--output", "markdown")
    assert result.exit_code == 0, result.output
    assert result.output == f"""\
## Deployment diff

Comparing the working tree with `{short(git)}` (merge base of HEAD and main).

### prod

**1 changed, 0 added, 2 removed**

- **Changed** `Deployment default/gemma`

  ```
  spec.template.spec.containers[llama-server].args: -c 4096 → -c 8192
  ```

- **Removed** `Certificate default/gemma-tls`

- **Removed** `ReferenceGrant default/gemma-tls-gateway`

### staging

No changes.
"""


def test_a_multi_line_string_shows_a_unified_diff(diff: Diff, repo: Path) -> None:
    set_value(repo, "prod", ("requestTimeoutSeconds",), 900)
    lines = diff("--output", "markdown", "prod").output.splitlines()
    start = lines.index('  `data["nginx.conf"]`:')
    block = lines[start + 2:lines.index("  ```", start + 3) + 1]
    assert block[0] == "  ```diff" and block[1].startswith("  @@ ")
    assert "  -            proxy_read_timeout 605s;" in block
    assert "  +            proxy_read_timeout 905s;" in block


def test_no_changes_exits_0(diff: Diff, git: Git) -> None:
    result = diff()
    assert result.exit_code == 0
    assert result.output.splitlines() == [
        f"Comparing the working tree with {short(git)} (merge base of HEAD and main).",
        "No changes to the deployment (prod, staging).",
    ]
    assert diff("--output", "markdown").output.splitlines()[-1] == "**No changes to the deployment (prod, staging).**"


def test_committed_rendered_files_are_not_trusted(diff: Diff, repo: Path) -> None:
    stale = repo / "rendered" / "prod" / "deployment-gemma.yaml"
    stale.parent.mkdir(parents=True)
    stale.write_text("kind: Deployment\nmetadata: {name: gemma, namespace: default}\nspec: {replicas: 9}\n")
    commit(repo, "a stale rendered file")
    assert diff().output.splitlines()[-1] == "No changes to the deployment (prod, staging)."


def test_the_base_renders_with_its_own_generator(diff: Diff, repo: Path) -> None:
    template = repo / "generator" / "templates" / "resources" / "service.yaml.j2"
    original = template.read_text()
    line = "  type: {{ spec.service.type | q }}\n"
    assert line in original
    template.write_text(original.replace(line, "  type: NodePort\n"))
    commit(repo, "a template as it used to be")
    template.write_text(original)  # the working tree's template is the one this process renders with
    assert diff("prod").output.splitlines()[2:] == [
        "prod: 1 changed, 0 added, 0 removed", "  ~ Service default/gemma: spec.type: NodePort → ClusterIP"]


def test_a_bad_ref_exits_2_naming_it(diff: Diff) -> None:
    result = diff("--base", "no-such-branch")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("error: unknown git ref 'no-such-branch': no commit by that name in ")


def test_a_ref_like_an_option_is_refused(diff: Diff) -> None:
    result = diff("--base=--output=x")
    assert (result.exit_code, result.stderr.split(":")[:2]) == (2, ["error", " unknown git ref '--output=x'"])


def test_outside_a_repository_exits_2(diff: Diff, tmp_path: Path) -> None:
    project = copy_project(tmp_path / "plain")
    result = diff(root=project)
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"error: not a git repository: {project} (`diff` compares with a git ref; run it in a clone, or pass --root)"]


def test_a_base_that_fails_to_render_exits_2_with_its_output(diff: Diff, repo: Path, git: Git) -> None:
    good = (repo / "values" / "prod.yaml").read_text()
    set_value(repo, "prod", ("llama", "contextSize"), "lots")
    bad = commit(repo, "a broken value")
    (repo / "values" / "prod.yaml").write_text(good)
    result = diff("--base", "HEAD")
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert lines[:2] == [f"error: base {bad}: its render failed (exit 2); its generator said:",
                         "  error: values/prod.yaml: 1 invalid value"]
    assert "llama.contextSize" in lines[2] and "'lots' is not of type 'integer'" in lines[2]


def test_a_base_without_values_shows_every_resource_as_added(tmp_path: Path) -> None:
    repo = copy_project(tmp_path / "repo")
    shutil.move(repo / "values", tmp_path / "values")
    init_repository(repo)
    base = commit(repo, "the generator, before any environment")
    shutil.move(tmp_path / "values", repo / "values")
    result = invoke_diff(repo, "prod")
    lines = result.output.splitlines()
    assert result.exit_code == 0
    assert lines[:4] == [f"Comparing the working tree with {base} (merge base of HEAD and main).",
                         f"note: base {base}: no environments; every resource shows as added",
                         "", "prod: 0 changed, 12 added, 0 removed"]
    assert "  + Application argocd/gemma-prod" in lines and "  + Deployment default/gemma" in lines


def test_a_new_environment_is_noted(diff: Diff, repo: Path, git: Git) -> None:
    shutil.copy(repo / "values" / "staging.yaml", repo / "values" / "canary.yaml")
    set_value(repo, "canary", ("namespace",), "gemma-canary")
    lines = diff("canary").output.splitlines()
    assert lines[1] == f"note: environment canary is new: base {short(git)} does not have it"
    assert lines[3] == "canary: 0 changed, 12 added, 0 removed"


def test_environments_narrow_both_sides(diff: Diff, repo: Path) -> None:
    set_value(repo, "prod", ("llama", "contextSize"), 8192)
    set_value(repo, "staging", ("tls", "enabled"), False)
    assert diff("staging").output.splitlines()[2:] == [
        "staging: 0 changed, 0 added, 2 removed",
        "  - Certificate gemma-staging/gemma-tls",
        "  - ReferenceGrant gemma-staging/gemma-tls-gateway",
    ]


def test_invalid_working_values_exit_2(diff: Diff, repo: Path) -> None:
    set_value(repo, "prod", ("llama", "contextSize"), "lots")
    result = diff()
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == "error: values/prod.yaml: 1 invalid value"


def test_without_main_the_base_is_origin_main_then_head(tmp_path: Path, repo: Path) -> None:
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", str(repo), str(clone)], check=True)
    git_in(clone, "checkout", "--quiet", "-b", "feature")
    git_in(clone, "branch", "--quiet", "-D", "main")
    head = git_in(clone, "rev-parse", "--short", "HEAD")
    assert invoke_diff(clone).output.splitlines()[0] == (
        f"Comparing the working tree with {head} (merge base of HEAD and origin/main).")
    git_in(repo, "branch", "--quiet", "-m", "main", "trunk")
    assert invoke_diff(repo).output.splitlines()[0] == (
        f"Comparing the working tree with {head} (HEAD; no main or origin/main branch).")


def test_a_project_in_a_subdirectory_of_the_repository(tmp_path: Path) -> None:
    repo = tmp_path / "monorepo"
    project = copy_project(repo / "deploy" / "gemma")
    (repo / "README.md").write_text("other things\n")
    init_repository(repo)
    commit(repo, "base")
    set_value(project, "prod", ("llama", "contextSize"), 8192)
    result = invoke_diff(project, "prod")
    assert result.output.splitlines()[2:] == ["prod: 1 changed, 0 added, 0 removed", CONTEXT]


def test_a_removed_environment_is_noted(diff: Diff, repo: Path, git: Git) -> None:
    (repo / "values" / "staging.yaml").unlink()
    lines = diff().output.splitlines()
    assert lines[1] == f"note: environment staging is removed: only base {short(git)} has it"
    assert lines[3:5] == ["prod: no changes", ""]
    assert lines[5] == "staging: 0 changed, 0 added, 12 removed"


def test_overrides_apply_to_the_working_tree_only(diff: Diff) -> None:
    result = diff("prod", "--set", "llama.contextSize=8192")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[1:] == ["", "prod: 1 changed, 0 added, 0 removed", CONTEXT]


def test_a_deployment_repository_without_a_generator_package_is_diffed_with_the_installed_tool(
        tmp_path: Path) -> None:
    """A repository that `init` started holds no generator/: both sides render with the running tool."""
    repo, source = tmp_path / "deploy", copy_project(tmp_path / "source")
    repo.mkdir()
    for name in ("schemas", "values"):
        shutil.copytree(source / name, repo / name)
    (repo / "gemma-gitops.toml").write_text("")
    init_repository(repo)
    commit(repo, "base")
    set_value(repo, "prod", ("llama", "contextSize"), 8192)
    result = invoke_diff(repo, "prod")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[2:] == ["prod: 1 changed, 0 added, 0 removed", CONTEXT]


QUOTA = "apiVersion: v1\nkind: ResourceQuota\nmetadata: {name: gemma-quota, namespace: default}\nspec:\n  hard: {requests.cpu: '4'}\n"


def test_an_extra_manifest_is_in_the_diff(diff: Diff, repo: Path, git: Git) -> None:
    source = repo / "values" / "prod" / "extra" / "quota.yaml"
    source.parent.mkdir(parents=True)
    source.write_text(QUOTA)
    assert diff("prod").output.splitlines()[1:] == ["", "prod: 0 changed, 1 added, 0 removed",
                                                    "  + ResourceQuota default/gemma-quota"]
    commit(repo, "a quota beside the values")
    git("checkout", "--quiet", "-b", "feature")
    source.write_text(QUOTA.replace("'4'", "'8'"))
    assert diff("prod").output.splitlines()[2:] == [
        "prod: 1 changed, 0 added, 0 removed", "  ~ ResourceQuota default/gemma-quota: spec.hard[\"requests.cpu\"]: 4 → 8"]
