"""What the rendered prod environment holds: the reference deployment, secure by default."""

from __future__ import annotations

import types
from typing import Any

import jinja2
import pytest

from generator.errors import TemplateError
from generator.render import llama_args, parse_rendered, quote, render_plan, render_template
from tests.plans import plan_for


def docs(env: str = "prod", **changes: Any) -> dict[str, dict[str, Any]]:
    """The rendered documents of an environment by `Kind/name`; its Argo CD Application as `Application`."""
    out: dict[str, dict[str, Any]] = {}
    for m in render_plan(plan_for(env, **changes)):
        key = "Application" if m.path.startswith("argocd/") else f"{m.identity.kind}/{m.identity.name}"
        out[key] = dict(m.doc)
    return out


@pytest.fixture(scope="module")
def prod() -> dict[str, dict[str, Any]]:
    return docs("prod")


def containers(prod: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    spec = prod["Deployment/gemma"]["spec"]["template"]["spec"]
    return {c["name"]: c for c in spec["containers"]}


def test_llama_server_reproduces_the_reference_command(prod: dict[str, dict[str, Any]]) -> None:
    llama = containers(prod)["llama-server"]
    args = " ".join(llama["args"])
    for expected in ("--hf-repo ggml-org/gemma-3-1b-it-GGUF", "--hf-file gemma-3-1b-it-Q4_K_M.gguf", "-c 4096",
                     "-ngl 0", "--threads 2", "--batch-size 512", "--port 8000", "--alias gemma-3-1b-it",
                     "--host 127.0.0.1", "--timeout 600"):
        assert expected in args
    assert {"name": "HF_HOME", "value": "/models"} in llama["env"]
    assert llama["resources"] == {"requests": {"cpu": "1200m", "memory": "2Gi"}, "limits": {"cpu": "2", "memory": "4Gi"}}
    assert {"name": "models", "mountPath": "/models"} in llama["volumeMounts"]


def test_proxy_sidecar(prod: dict[str, dict[str, Any]]) -> None:
    proxy = containers(prod)["auth-proxy"]
    assert proxy["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"},
                              {"name": "metrics", "containerPort": 9090, "protocol": "TCP"}]
    assert proxy["resources"] == {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"cpu": "50m", "memory": "64Mi"}}
    assert proxy["image"].startswith("openresty/openresty:")


def test_both_containers_are_locked_down(prod: dict[str, dict[str, Any]]) -> None:
    pod = prod["Deployment/gemma"]["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["automountServiceAccountToken"] is False
    for container in pod["containers"]:
        ctx = container["securityContext"]
        assert ctx["readOnlyRootFilesystem"] is True and ctx["allowPrivilegeEscalation"] is False
        assert ctx["capabilities"] == {"drop": ["ALL"]}
        assert container["imagePullPolicy"] == "IfNotPresent"
        assert ":" in container["image"].split("/")[-1] and not container["image"].endswith(":latest")
        assert set(container["resources"]) == {"requests", "limits"}


def test_the_key_volume_is_required_and_refreshable(prod: dict[str, dict[str, Any]]) -> None:
    pod = prod["Deployment/gemma"]["spec"]["template"]["spec"]
    secret = next(v for v in pod["volumes"] if v["name"] == "api-key")["secret"]
    assert secret["secretName"] == "gemma-api-key" and "optional" not in secret
    mounts = [m for c in pod["containers"] for m in c["volumeMounts"] if m["name"] == "api-key"]
    assert mounts and all("subPath" not in m for m in mounts)  # subPath mounts never see a rotated key


def test_probes_need_no_key_and_survive_the_first_download(prod: dict[str, dict[str, Any]]) -> None:
    llama = containers(prod)["llama-server"]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert llama[probe]["httpGet"] == {"path": "/health", "port": 8080}
    startup = llama["startupProbe"]
    # 806 MB at the planned 2 MiB/s is ~385 s, plus 60 s to load, times 1.5.
    assert startup["periodSeconds"] == 10 and startup["failureThreshold"] == 67


def test_config_checksum_rolls_the_pod(prod: dict[str, dict[str, Any]]) -> None:
    staging = docs("staging")
    ann = prod["Deployment/gemma"]["spec"]["template"]["metadata"]["annotations"]["checksum/proxy-config"]
    assert len(ann) == 40
    assert ann != staging["Deployment/gemma"]["spec"]["template"]["metadata"]["annotations"]["checksum/proxy-config"]


def test_recreate_strategy_for_a_read_write_once_cache(prod: dict[str, dict[str, Any]]) -> None:
    assert prod["Deployment/gemma"]["spec"]["strategy"] == {"type": "Recreate"}
    pvc = prod["PersistentVolumeClaim/gemma-models"]["spec"]
    assert pvc == {"accessModes": ["ReadWriteOnce"], "storageClassName": "oci-bv", "resources": {"requests": {"storage": "5Gi"}}}


def test_external_secret_creates_the_key_before_the_deployment(prod: dict[str, dict[str, Any]]) -> None:
    es = prod["ExternalSecret/gemma-api-key"]
    assert es["apiVersion"] == "external-secrets.io/v1"
    assert es["spec"]["target"]["name"] == "gemma-api-key"
    assert es["spec"]["data"] == [{"secretKey": "api-key", "remoteRef": {"key": "gemma-api-key"}}]
    assert int(es["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"]) < 0
    assert "argocd.argoproj.io/sync-wave" not in prod["Deployment/gemma"]["metadata"].get("annotations", {})


def test_routes_and_one_timeout_everywhere(prod: dict[str, dict[str, Any]]) -> None:
    route = prod["HTTPRoute/gemma"]["spec"]
    assert route["parentRefs"][0]["sectionName"] == "https"
    assert route["rules"][0]["backendRefs"][0]["name"] == "gemma" and route["rules"][0]["backendRefs"][0]["port"] == 80
    # Each hop waits a little longer than the one inside it: llama-server 600s, nginx 605s, Envoy 610s.
    assert route["rules"][0]["timeouts"] == {"request": "610s", "backendRequest": "610s"}
    redirect = prod["HTTPRoute/gemma-http-redirect"]["spec"]
    assert redirect["parentRefs"][0]["sectionName"] == "http"
    assert redirect["rules"][0]["filters"][0]["requestRedirect"] == {"scheme": "https", "statusCode": 301}
    btp = prod["BackendTrafficPolicy/gemma"]["spec"]["timeout"]["http"]
    assert btp == {"requestTimeout": "610s", "streamIdleTimeout": "610s"}
    conf = prod["ConfigMap/gemma-proxy"]["data"]["nginx.conf"]
    assert "proxy_read_timeout 605s;" in conf
    assert "--timeout 600" in " ".join(containers(prod)["llama-server"]["args"])


def test_service_and_network_policy(prod: dict[str, dict[str, Any]]) -> None:
    svc = prod["Service/gemma"]["spec"]
    assert svc["selector"] == {"app": "gemma"} and svc["ports"][0]["port"] == 80 and svc["ports"][0]["targetPort"] == "http"
    np = prod["NetworkPolicy/gemma"]["spec"]
    assert np["podSelector"] == {"matchLabels": {"app": "gemma"}}
    assert np["ingress"] == [{"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "envoy-gateway-system"}}}],
                              "ports": [{"protocol": "TCP", "port": 8080}]},
                             {"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}],
                              "ports": [{"protocol": "TCP", "port": 9090}]}]


def test_argocd_application(prod: dict[str, dict[str, Any]]) -> None:
    app = prod["Application"]
    assert app["metadata"]["finalizers"] == ["resources-finalizer.argocd.argoproj.io"]
    assert app["spec"]["source"]["path"] == "rendered/prod"
    assert app["spec"]["syncPolicy"] == {"automated": {"prune": True, "selfHeal": True}, "syncOptions": ["CreateNamespace=true"]}
    assert app["spec"]["destination"]["namespace"] == "default"


def test_staging_differs_meaningfully(prod: dict[str, dict[str, Any]]) -> None:
    staging = docs("staging")
    assert staging["HTTPRoute/gemma"]["spec"]["hostnames"] != prod["HTTPRoute/gemma"]["spec"]["hostnames"]
    assert staging["Certificate/gemma-tls"]["spec"]["issuerRef"]["name"] == "letsencrypt-staging"
    assert "2048" in staging["Deployment/gemma"]["spec"]["template"]["spec"]["containers"][1]["args"]
    assert staging["Deployment/gemma"]["metadata"]["namespace"] == "gemma-staging"


def test_cluster_secret_store_is_optional() -> None:
    assert not any(k.startswith("ClusterSecretStore/") for k in docs("prod"))


def test_a_template_that_repeats_a_key_is_a_template_error() -> None:
    with pytest.raises(TemplateError) as caught:
        parse_rendered("kind: ConfigMap\nmetadata: {name: a}\nkind: Secret\n", "broken.yaml.j2")
    assert caught.value.lines()[0] == "template broken.yaml.j2 produced invalid YAML"
    assert caught.value.lines()[1].startswith("  templates/broken.yaml.j2: duplicate key 'kind' (first at line 1, column 1)")


def test_llama_server_has_an_http_thread_for_every_pooled_proxy_connection(prod: dict[str, dict[str, Any]]) -> None:
    args = containers(prod)["llama-server"]["args"]
    conf = prod["ConfigMap/gemma-proxy"]["data"]["nginx.conf"]
    pool = int(conf.split("keepalive ", 1)[1].split(";", 1)[0])
    workers = int(conf.split("worker_processes ", 1)[1].split(";", 1)[0])
    assert int(args[args.index("--threads-http") + 1]) > pool * workers


METRICS_OFF = {"metrics__enabled": False, "metrics__podMonitor__enabled": False,
               "metrics__prometheusRule__enabled": False, "metrics__dashboard__enabled": False}


@pytest.mark.parametrize(("changes", "present", "absent"), [
    ({}, ["--no-kv-unified", "--metrics", "--embeddings --pooling mean"], ["--kv-unified", "--swa-full"]),
    ({"llama__kvUnified": True, "llama__swaFull": True}, ["--kv-unified", "--swa-full"], ["--no-kv-unified"]),
    ({"llama__embeddings": False, **METRICS_OFF}, [], ["--embeddings", "--pooling", "--metrics"]),
], ids=["prod", "unified-swa-full", "no-embeddings-no-metrics"])
def test_every_switch_of_the_values_reaches_llama_servers_command_line(changes: dict[str, Any], present: list[str],
                                                                      absent: list[str]) -> None:
    args = llama_args(plan_for("prod", **changes))
    line = f" {' '.join(args)} "
    assert all(f" {flags} " in line for flags in present), args
    assert not any(flag in args for flag in absent), args


def test_a_template_that_fails_is_named_with_its_line_when_jinja_knows_it() -> None:
    env = jinja2.Environment(loader=jinja2.DictLoader({"syntax.yaml.j2": "a: 1\n{% if %}\n", "undefined.yaml.j2": "b: {{ x }}\n"}),
                             undefined=jinja2.StrictUndefined)
    with pytest.raises(TemplateError) as syntax:
        render_template("syntax.yaml.j2", {}, env)
    assert syntax.value.lines() == ["template syntax.yaml.j2 failed",
                                    "  templates/syntax.yaml.j2::line 2: Expected an expression, got 'end of statement block'"]
    with pytest.raises(TemplateError) as undefined:
        render_template("undefined.yaml.j2", {}, env)
    assert undefined.value.lines() == ["template undefined.yaml.j2 failed", "  templates/undefined.yaml.j2: 'x' is undefined"]


def test_a_template_renders_one_resource_or_nothing() -> None:
    assert parse_rendered("# turned off\n", "off.yaml.j2") is None
    with pytest.raises(TemplateError) as caught:
        parse_rendered("- kind: ConfigMap\n- kind: Secret\n", "list.yaml.j2")
    assert caught.value.lines() == ["template list.yaml.j2 produced a list, not a resource"]


def test_a_plan_without_the_models_geometry_is_not_rendered_and_says_why() -> None:
    plan = plan_for("prod", model__hfRepo="example/other-GGUF", model__hfFile="other.gguf")
    with pytest.raises(TemplateError) as caught:
        render_plan(plan)
    assert caught.value.lines() == [
        "values/prod.yaml: cannot render without the model's geometry",
        "  values/prod.yaml::model.geometry: example/other-GGUF/other.gguf is not in the model catalog, so model.geometry "
        "is required: run `gemma-gitops inspect FILE.gguf` and paste its output under model.geometry (model-geometry)"]


def test_the_q_filter_writes_the_plans_read_only_mappings_and_names_what_it_cannot_write() -> None:
    assert quote(types.MappingProxyType({"app": "gemma"})) == '{"app": "gemma"}'
    with pytest.raises(TypeError, match=r"^Plan is not JSON serializable$"):  # a template bug, named by type
        quote(plan_for("prod"))


def test_the_proxy_configmap_carries_metrics_lua_only_with_metrics_on(prod: dict[str, dict[str, Any]]) -> None:
    assert sorted(prod["ConfigMap/gemma-proxy"]["data"]) == ["auth.lua", "metrics.lua", "nginx.conf"]
    assert sorted(docs("prod", **METRICS_OFF)["ConfigMap/gemma-proxy"]["data"]) == ["auth.lua", "nginx.conf"]
