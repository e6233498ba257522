"""Many clusters: the Application's destination, project, sync options and retry; an ApplicationSet over several clusters."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from generator import conflicts
from tests.conftest import Run
from tests.plans import plan_for
from tests.platform.conftest import WriteEnv, docs_for, render_ok, rendered, validate_ok

CLUSTERS = [{"name": "eu", "server": "https://eu.example.com:6443"}, {"name": "us", "server": "https://us.example.com:6443"}]


def test_the_reference_application_is_unchanged() -> None:
    spec = docs_for()["argocd"]["spec"]
    assert spec["destination"] == {"server": "https://kubernetes.default.svc", "namespace": "default"}
    assert spec["syncPolicy"] == {"automated": {"prune": True, "selfHeal": True}, "syncOptions": ["CreateNamespace=true"]}


def test_destination_project_sync_options_and_retry() -> None:
    spec = docs_for(argocd__destination={"server": "https://prod.example.com:6443"}, argocd__project="llm",
                    argocd__syncOptions=["CreateNamespace=true", "ServerSideApply=true", "PrunePropagationPolicy=foreground"],
                    argocd__retry={"limit": 5, "backoff": {"duration": "10s", "factor": 3, "maxDuration": "5m"}})["argocd"]["spec"]
    assert spec["project"] == "llm"
    assert spec["destination"] == {"server": "https://prod.example.com:6443", "namespace": "default"}
    assert spec["syncPolicy"]["syncOptions"] == ["CreateNamespace=true", "ServerSideApply=true", "PrunePropagationPolicy=foreground"]
    assert spec["syncPolicy"]["retry"] == {"limit": 5, "backoff": {"duration": "10s", "factor": 3, "maxDuration": "5m"}}


def test_a_destination_by_name_leaves_the_server_out() -> None:
    assert docs_for(argocd__destination={"name": "prod-eu"})["argocd"]["spec"]["destination"] == {
        "name": "prod-eu", "namespace": "default"}


def test_no_sync_options_renders_none() -> None:
    assert "syncOptions" not in docs_for(argocd__syncOptions=[])["argocd"]["spec"]["syncPolicy"]


def test_an_application_set_over_listed_clusters() -> None:
    appset = docs_for(argocd__applicationSet={"enabled": True, "clusters": CLUSTERS}, argocd__retry={"limit": 2})["argocd"]
    assert (appset["kind"], appset["metadata"]["name"]) == ("ApplicationSet", "gemma-prod")
    assert appset["spec"]["goTemplateOptions"] == ["missingkey=error"]
    assert appset["spec"]["generators"] == [{"list": {"elements": CLUSTERS}}]
    template = appset["spec"]["template"]
    assert template["metadata"]["name"] == "gemma-prod-{{.name}}"
    assert template["spec"]["destination"] == {"server": "{{.server}}", "namespace": "default"}
    assert template["spec"]["source"]["path"] == "rendered/prod"
    assert template["spec"]["syncPolicy"]["retry"]["limit"] == 2


def test_an_application_set_over_labelled_clusters() -> None:
    appset = docs_for(argocd__applicationSet={"enabled": True, "generator": "clusters", "selector": {"gemma": "prod"}})["argocd"]
    assert appset["spec"]["generators"] == [{"clusters": {"selector": {"matchLabels": {"gemma": "prod"}}}}]


@pytest.mark.parametrize(("appset", "expected"), [
    ({"enabled": True}, "argocd.applicationSet.clusters: the list generator needs at least one cluster"),
    ({"enabled": True, "generator": "clusters"}, "argocd.applicationSet.selector: the clusters generator needs a selector"),
    ({"enabled": True, "clusters": [*CLUSTERS, CLUSTERS[0]]}, "argocd.applicationSet.clusters[2].name: cluster 'eu' is listed twice"),
])
def test_an_application_set_must_name_its_clusters(appset: dict[str, Any], expected: str) -> None:
    found = [f"{p.path}: {p.message}" for p in conflicts.problems(plan_for("prod", argocd__applicationSet=appset))]
    assert any(f.startswith(expected) for f in found), found


@pytest.mark.parametrize("appset", [{"enabled": True, "clusters": CLUSTERS},
                                    {"enabled": True, "generator": "clusters", "selector": {"gemma": "edge"}}])
def test_the_application_set_validates_against_its_crd(run: Run, project: Path, write_env: WriteEnv,
                                                        appset: dict[str, Any]) -> None:
    write_env({"argocd": {"applicationSet": appset, "retry": {"limit": -1}}})
    render_ok(run, "edge")
    validate_ok(run)
    assert rendered(project)["argocd"]["kind"] == "ApplicationSet"


def test_an_application_set_with_a_wrong_path_fails_validation(run: Run, project: Path, write_env: WriteEnv) -> None:
    write_env({"argocd": {"applicationSet": {"enabled": True, "clusters": CLUSTERS}}})
    render_ok(run, "edge")
    appset = project / "argocd/edge.yaml"
    appset.write_text(appset.read_text().replace("path: rendered/edge", "path: rendered/edg"))
    result = run("validate")
    assert result.exit_code == 1
    assert ("argocd/edge.yaml::$.spec.template.spec.source.path: 'rendered/edg' does not exist under the project root "
            "(run the render first?) (argocd-application)") in result.output


@pytest.mark.parametrize(("argocd", "expected"), [
    ({"destination": {"server": "http://insecure:6443"}}, "argocd.destination.server: 'http://insecure:6443' is not valid"),
    ({"destination": {"cluster": "eu"}}, "argocd.destination.cluster: unknown key 'cluster'; allowed here: name, server"),
    ({"syncOptions": ["Prune=false"]}, "argocd.syncOptions[0]: 'Prune=false' is not valid"),
    ({"syncOptions": "CreateNamespace=true"}, "argocd.syncOptions: 'CreateNamespace=true' is not of type 'array'"),
    ({"retry": {"limit": 1000}}, "argocd.retry.limit: 1000 is out of range: expected -1 to 100"),
    ({"retry": {"backoff": {"duration": "soon"}}}, "argocd.retry.backoff.duration: 'soon' is not valid"),
    ({"applicationSet": {"generator": "git"}}, "argocd.applicationSet.generator: 'git' is not one of 'list', 'clusters'"),
    ({"applicationSet": {"clusters": [{"name": "eu"}]}}, "argocd.applicationSet.clusters[0]: 'server' is a required property"),
])
def test_bad_argocd_values(run: Run, project: Path, write_env: WriteEnv, argocd: dict[str, Any], expected: str) -> None:
    write_env({"argocd": argocd})
    result = run("render")
    assert result.exit_code == 2
    path, message = expected.split(": ", 1)
    assert any(line.startswith(f"  values/edge.yaml::{path} (line ") and message in line
               for line in result.output.splitlines()), result.output
    assert not (project / "rendered").exists()
