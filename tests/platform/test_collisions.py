"""One object, two owners: environments on one cluster, Argo CD Applications with one name. render and check exit 1."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.conftest import Run
from tests.platform.conftest import BASE, WriteEnv, line_of, render_ok


def test_a_copied_environment_that_kept_the_namespace_collides(run: Run, project: Path) -> None:
    shutil.copy(project / "values/staging.yaml", project / "values/dev.yaml")
    expected = [
        "error: values/dev.yaml, values/staging.yaml: 1 collision: one object, two owners",
        "  values/staging.yaml::namespace (line 5): deploys BackendTrafficPolicy gemma-staging/gemma and 10 more to "
        "https://kubernetes.default.svc, which values/dev.yaml deploys there too: the two Applications would overwrite "
        "each other's objects. Give each environment its own namespace (or name), or another destination (ownership)"]
    for command in ("render", "check"):
        result = run(command)
        assert result.exit_code == 1, result.output
        assert result.output.splitlines()[-2:] == expected
    assert not (project / "rendered").exists()


def test_rendering_only_the_copy_names_it_first(run: Run, project: Path) -> None:
    render_ok(run)
    shutil.copy(project / "values/staging.yaml", project / "values/dev.yaml")
    result = run("render", "dev")
    assert result.exit_code == 1
    assert result.output.splitlines()[-1].startswith("  values/dev.yaml::namespace (line 5): deploys BackendTrafficPolicy "
                                                     "gemma-staging/gemma and 10 more to https://kubernetes.default.svc, "
                                                     "which values/staging.yaml deploys there too")
    assert not (project / "rendered/dev").exists()


def test_the_same_namespace_on_another_cluster_is_fine(run: Run, project: Path, write_env: WriteEnv) -> None:
    write_env({"namespace": "gemma-staging", "argocd": {"destination": {"server": "https://dr.example.com:6443"}}})
    render_ok(run)


def test_argo_cds_own_cluster_by_name_is_the_same_cluster(run: Run, project: Path, write_env: WriteEnv) -> None:
    write_env({"namespace": "gemma-staging", "argocd": {"destination": {"name": "in-cluster"}}})
    result = run("render")
    assert result.exit_code == 1
    assert "to https://kubernetes.default.svc, which values/edge.yaml deploys there too" in result.output


def test_an_application_set_cluster_is_compared_too(run: Run, project: Path, write_env: WriteEnv) -> None:
    eu = {"name": "eu", "server": "https://eu.example.com:6443"}
    write_env({"argocd": {"applicationSet": {"enabled": True, "clusters": [eu]}}})
    write_env({"hostname": "gemma-edge2.example.com", "argocd": {"destination": {"server": eu["server"]}}}, name="edge2")
    result = run("render")
    assert result.exit_code == 1
    assert "to https://eu.example.com:6443, which values/edge.yaml deploys there too" in result.output


def test_two_applications_with_one_name(run: Run, project: Path, write_env: WriteEnv) -> None:
    # name gemma-x + environment prod and name gemma + environment x-prod are both Application gemma-x-prod.
    write_env({"name": "gemma", "namespace": "one"}, name="x-prod")
    path = write_env({"name": "gemma-x", "namespace": "two"}, name="prod")
    result = run("render", "prod")
    assert result.exit_code == 1
    assert (f"  values/prod.yaml::name (line {line_of(path, 'name: gemma-x')}): Application 'gemma-x-prod' in namespace "
            "'argocd' is also Application 'gemma-x-prod' of values/x-prod.yaml; rename the environment or change `name` "
            "(ownership)") in result.output.splitlines()


def test_a_generated_application_name_collides_too(run: Run, project: Path, write_env: WriteEnv) -> None:
    write_env({"argocd": {"applicationSet": {"enabled": True, "clusters": [{"name": "eu", "server": "https://eu.example.com"}]}}})
    write_env({**BASE, "hostname": "gemma-eu.example.com", "namespace": "edge-eu"}, name="edge-eu")
    result = run("render")
    assert result.exit_code == 1
    assert ("Application 'gemma-edge-eu' in namespace 'argocd' is also Application 'gemma-edge-eu' (generated) of "
            "values/edge.yaml") in result.output
