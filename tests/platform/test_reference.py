"""With none of the platform features set, the reference renders to the committed bytes; with all of them, it validates."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from generator.values import schema_defaults
from testkit.policy import assert_policy_clean
from tests.conftest import REPO, Run, snapshot
from tests.platform.conftest import WriteEnv, merged, render_ok, rendered, validate_ok

SCHEMA = json.loads((REPO / "schemas/values.schema.json").read_text())
# Every value issue 14 added, by where it lives in the values.
NEW_TOP = ("tolerations", "affinity", "topologySpreadConstraints", "priorityClassName", "runtimeClassName", "podLabels",
           "podAnnotations", "imagePullSecrets", "extraVolumes", "service", "route")
NEW_LLAMA = ("extraArgs", "extraEnv", "extraVolumeMounts", "gpu")
NEW_PROXY = ("extraEnv", "extraVolumeMounts")
NEW_ARGOCD = ("destination", "syncOptions", "retry", "applicationSet")


def explicit_defaults() -> dict[str, Any]:
    """Every new value, set explicitly to its schema default."""
    defaults = schema_defaults(SCHEMA)
    return {**{k: defaults[k] for k in NEW_TOP}, "llama": {k: defaults["llama"][k] for k in NEW_LLAMA},
            "proxy": {k: defaults["proxy"][k] for k in NEW_PROXY}, "argocd": {k: defaults["argocd"][k] for k in NEW_ARGOCD}}


def test_every_new_value_has_a_default_and_a_description() -> None:
    properties = SCHEMA["properties"]
    nodes = [*(properties[k] for k in NEW_TOP), *(properties["llama"]["properties"][k] for k in NEW_LLAMA),
             *(properties["proxy"]["properties"][k] for k in NEW_PROXY),
             *(properties["argocd"]["properties"][k] for k in NEW_ARGOCD)]
    assert all(node.get("description") for node in nodes)
    defaults = explicit_defaults()
    assert set(defaults) >= set(NEW_TOP) and set(defaults["llama"]) == set(NEW_LLAMA)


def test_the_new_values_at_their_defaults_render_the_committed_bytes(run: Run, project: Path) -> None:
    for env in ("prod", "staging"):
        path = project / "values" / f"{env}.yaml"
        path.write_text(yaml.safe_dump(merged(yaml.safe_load(path.read_text()), explicit_defaults()), sort_keys=False))
    render_ok(run)
    committed = {p: data for p, data in snapshot(REPO).items() if p.startswith(("rendered/", "argocd/"))}
    assert snapshot(project) == committed


def test_the_docs_list_every_new_value() -> None:
    reference = (REPO / "docs/values.md").read_text()
    for key in (*NEW_TOP, *(f"llama.{k}" for k in NEW_LLAMA), *(f"proxy.{k}" for k in NEW_PROXY),
                *(f"argocd.{k}" for k in NEW_ARGOCD), "llama.gpu.migProfile", "route.ingress.className",
                "argocd.applicationSet.generator", "service.annotations"):
        assert f"| `{key}` |" in reference, key


EVERYTHING: dict[str, Any] = {
    "replicas": 2,
    "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "llm", "effect": "NoSchedule"}],
    "affinity": {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 100, "podAffinityTerm": {"topologyKey": "kubernetes.io/hostname",
                                            "labelSelector": {"matchLabels": {"app": "gemma"}}}}]}},
    "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone",
                                   "whenUnsatisfiable": "ScheduleAnyway", "labelSelector": {"matchLabels": {"app": "gemma"}}}],
    "priorityClassName": "llm-serving",
    "podLabels": {"team": "ml-platform"},
    "podAnnotations": {"prometheus.io/scrape": "false"},
    "imagePullSecrets": [{"name": "mirror-pull"}],
    "extraVolumes": [{"name": "templates", "configMap": {"name": "gemma-chat-templates"}}],
    "service": {"annotations": {"service.beta.kubernetes.io/oci-load-balancer-internal": "true"}},
    "route": {"kind": "ingress"},
    "llama": {"extraArgs": ["--no-warmup", "--temp", "0.7"],
              "extraEnv": [{"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
              "extraVolumeMounts": [{"name": "templates", "mountPath": "/templates", "readOnly": True}],
              "gpuLayers": 999, "gpu": {"enabled": True, "card": "nvidia-a10", "runtimeClassName": "nvidia"},
              "resources": {"limits": {"cpu": "4", "memory": "8Gi"}, "requests": {"cpu": "2", "memory": "4Gi"}}},
    "proxy": {"extraEnv": [{"name": "TZ", "value": "UTC"}]},
    "argocd": {"destination": {"name": "gpu-cluster"}, "syncOptions": ["CreateNamespace=true", "FailOnSharedResource=true"],
               "retry": {"limit": 5}},
    "nodeSelector": {"kubernetes.io/arch": "amd64"},
}


# What the values above refer to, kept beside them: the chat templates' ConfigMap.
EXTRAS = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: gemma-chat-templates
  namespace: gemma-edge
data:
  chatml.jinja: "{% for m in messages %}{{ m.content }}{% endfor %}"
"""


def test_everything_at_once_renders_validates_and_passes_the_policy_scan(run: Run, project: Path,
                                                                        write_env: WriteEnv) -> None:
    write_env(EVERYTHING)
    (project / "values/edge/extra").mkdir(parents=True)
    (project / "values/edge/extra/references.yaml").write_text(EXTRAS)
    render_ok(run, "edge")
    assert validate_ok(run).endswith("Invalid: 0, Errors: 0, Skipped: 0")
    docs = rendered(project)
    assert docs["StatefulSet/gemma"]["spec"]["template"]["spec"]["runtimeClassName"] == "nvidia"
    assert "Ingress/gemma" in docs and "HTTPRoute/gemma" not in docs
    assert docs["argocd"]["spec"]["destination"] == {"name": "gpu-cluster", "namespace": "gemma-edge"}
    assert_policy_clean(project / "rendered" / "edge", root=project)
    assert_policy_clean(project / "argocd", root=project)
