"""The memory budget and guards run at render time; scale-out renders the right workload."""

from __future__ import annotations

from pathlib import Path

import yaml
from click.testing import CliRunner

from generator.cli import cli
from generator.kube.config import VENDORED_CRDS
from tests.conftest import Run, snapshot

CRD_SCHEMAS = VENDORED_CRDS


def set_prod(project: Path, extra: str) -> None:
    prod = project / "values/prod.yaml"
    prod.write_text(prod.read_text() + extra)


def test_a_deployment_that_cannot_fit_is_refused_with_the_breakdown_and_fixes(run: Run, project: Path) -> None:
    run("render")
    before = snapshot(project)
    prod = project / "values/prod.yaml"
    prod.write_text(prod.read_text().replace("limits: {cpu: \"2\", memory: 4Gi}", "limits: {cpu: \"2\", memory: 1536Mi}"))
    result = run("render")
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0] == "error: values/prod.yaml: the deployment cannot run as configured (see `gemma-gitops budget`)"
    memory = next(line for line in lines if "llama.resources.limits.memory" in line)
    assert "weights 769.1 MiB" in memory and "kv cache 38.0 MiB" in memory
    for fix in ("llama.contextSize", "llama.cacheTypeK", "llama.resources.limits.memory"):
        assert fix in result.output
    assert snapshot(project) == before
    assert run("check").exit_code == 1


def test_threads_above_the_cpu_limit_are_refused(run: Run, project: Path) -> None:
    prod = project / "values/prod.yaml"
    prod.write_text(prod.read_text().replace("threads: 2", "threads: 4"))
    result = run("render", "prod")
    assert result.exit_code == 1
    assert "values/prod.yaml::llama.threads" in result.output


def test_the_shipped_environments_render_without_a_warning(project: Path) -> None:
    result = CliRunner().invoke(cli, ["--root", str(project), "render"])
    assert result.exit_code == 0
    assert result.stderr == ""  # acknowledged warnings are listed by `budget`, not on every render


def test_warnings_do_not_stop_the_render(project: Path) -> None:
    prod = project / "values/prod.yaml"
    prod.write_text(prod.read_text().replace("requests: {cpu: 1200m, memory: 2Gi}", "requests: {cpu: 1200m, memory: 512Mi}"))
    result = CliRunner().invoke(cli, ["--root", str(project), "render", "prod"])
    assert result.exit_code == 0, result.output
    assert ("warning: values/prod.yaml::llama.resources.requests.memory: the request 512.0 MiB is below weights + "
            "repacked weights + KV cache") in result.output
    assert result.output.count("warning:") == 1 and "(memory-request)" in result.output


def docs_of(project: Path, env: str = "prod") -> dict[str, dict]:
    return {p.stem: yaml.safe_load(p.read_text()) for p in (project / "rendered" / env).glob("*.yaml")}


def test_more_replicas_on_a_read_write_once_cache_render_a_statefulset(run: Run, project: Path) -> None:
    set_prod(project, "replicas: 3\n")
    assert run("render", "prod").exit_code == 0
    docs = docs_of(project)
    assert "deployment-gemma" not in docs and "persistentvolumeclaim-gemma-models" not in docs
    sts = docs["statefulset-gemma"]["spec"]
    assert sts["replicas"] == 3 and sts["serviceName"] == "gemma"
    assert sts["volumeClaimTemplates"][0]["metadata"]["name"] == "models"
    assert sts["volumeClaimTemplates"][0]["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert not any(v["name"] == "models" for v in sts["template"]["spec"]["volumes"])
    assert docs["poddisruptionbudget-gemma"]["spec"]["maxUnavailable"] == 1
    result = CliRunner().invoke(cli, ["--root", str(project), "validate", "--schema-location", str(CRD_SCHEMAS),
                                      str(project / "rendered/prod")])
    assert result.exit_code == 0, result.output


def test_a_shared_cache_keeps_a_deployment_with_rolling_updates(run: Run, project: Path) -> None:
    set_prod(project, "replicas: 2\n")
    prod = project / "values/prod.yaml"
    prod.write_text(prod.read_text().replace("storageClass: oci-bv", "storageClass: oci-fss\n  accessMode: ReadWriteMany"))
    assert run("render", "prod").exit_code == 0
    docs = docs_of(project)
    deploy = docs["deployment-gemma"]["spec"]
    assert deploy["replicas"] == 2 and deploy["strategy"]["type"] == "RollingUpdate"
    assert docs["persistentvolumeclaim-gemma-models"]["spec"]["accessModes"] == ["ReadWriteMany"]
    assert "poddisruptionbudget-gemma" in docs


def test_autoscaling_owns_the_replica_count(run: Run, project: Path) -> None:
    set_prod(project, "replicas: 2\nautoscaling: {enabled: true, minReplicas: 2, maxReplicas: 4}\n")
    assert run("render", "prod").exit_code == 0
    docs = docs_of(project)
    assert "replicas" not in docs["statefulset-gemma"]["spec"]
    hpa = docs["horizontalpodautoscaler-gemma"]["spec"]
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "gemma"}
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (2, 4)


def test_one_replica_stays_a_recreate_deployment(run: Run, project: Path) -> None:
    assert run("render", "prod").exit_code == 0
    docs = docs_of(project)
    assert docs["deployment-gemma"]["spec"]["strategy"] == {"type": "Recreate"}
    assert "poddisruptionbudget-gemma" not in docs and "horizontalpodautoscaler-gemma" not in docs


def test_budget_command(project: Path) -> None:
    result = CliRunner().invoke(cli, ["--root", str(project), "budget", "prod"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "values/prod.yaml: gemma-3-1b-it (ggml-org/gemma-3-1b-it-GGUF/gemma-3-1b-it-Q4_K_M.gguf)"
    assert any(line.split()[:2] == ["kv", "cache"] and line.split()[-2] == "38.0" for line in lines)
    assert lines[-1] == "Summary: 1 environment - Fit: 1, Errors: 0, Warnings: 0, Acknowledged: 2"


def test_the_oci_vault_cluster_secret_store_can_be_rendered(run: Run, project: Path) -> None:
    prod = project / "values/prod.yaml"
    values = yaml.safe_load(prod.read_text())
    values["apiKey"]["clusterSecretStore"] = {
        "enabled": True, "vaultOcid": "ocid1.vault.oc1.eu-frankfurt-1.abcdefghijklmnopqrstuvwxyz",
        "region": "eu-frankfurt-1"}
    prod.write_text(yaml.safe_dump(values))
    assert run("render", "prod").exit_code == 0
    store = docs_of(project)["clustersecretstore-oci-vault"]
    assert store["apiVersion"] == "external-secrets.io/v1"
    assert store["spec"]["provider"]["oracle"] == {
        "vault": "ocid1.vault.oc1.eu-frankfurt-1.abcdefghijklmnopqrstuvwxyz", "region": "eu-frankfurt-1",
        "principalType": "InstancePrincipal"}
    assert "namespace" not in store["metadata"]


def test_an_enabled_store_without_its_vault_is_bad_input(run: Run, project: Path) -> None:
    prod = project / "values/prod.yaml"
    prod.write_text(prod.read_text().replace("apiKey:\n", "apiKey:\n  clusterSecretStore: {enabled: true}\n"))
    result = run("render", "prod")
    assert result.exit_code == 2
    assert "'vaultOcid' is a required property" in result.output and "'region' is a required property" in result.output
