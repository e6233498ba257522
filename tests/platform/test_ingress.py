"""Ingress as the alternative to Gateway API: TLS, an HTTPS redirect, unbuffered streams, the plan's timeouts."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Run
from tests.platform.conftest import WriteEnv, docs_for, render_ok, rendered, validate_ok

INGRESS = {"route__kind": "ingress"}


def test_the_gateway_stays_the_default() -> None:
    kinds = {key.split("/")[0] for key in docs_for()}
    assert {"HTTPRoute", "BackendTrafficPolicy", "ReferenceGrant"} <= kinds and "Ingress" not in kinds


def test_an_ingress_replaces_the_routes() -> None:
    docs = docs_for(**INGRESS)
    kinds = {key.split("/")[0] for key in docs}
    assert "Ingress" in kinds and not {"HTTPRoute", "BackendTrafficPolicy", "ReferenceGrant"} & kinds
    ingress = docs["Ingress/gemma"]
    assert ingress["spec"]["ingressClassName"] == "nginx"
    assert ingress["spec"]["tls"] == [{"hosts": ["gemma.example.com"], "secretName": "gemma-tls"}]
    assert ingress["spec"]["rules"] == [{"host": "gemma.example.com", "http": {"paths": [{
        "path": "/", "pathType": "Prefix", "backend": {"service": {"name": "gemma", "port": {"number": 80}}}}]}}]
    assert docs["Certificate/gemma-tls"]["spec"]["secretName"] == "gemma-tls"


def test_streaming_safe_annotations_follow_the_plan() -> None:
    annotations = docs_for(**INGRESS, requestTimeoutSeconds=900, proxy__maxRequestBodyMiB=16)["Ingress/gemma"]["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/force-ssl-redirect"] == "true"
    assert annotations["nginx.ingress.kubernetes.io/proxy-buffering"] == "off"
    # The outer hop waits longest: 900 s for llama-server, 905 s for the auth proxy, 910 s here.
    assert annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"] == "910"
    assert annotations["nginx.ingress.kubernetes.io/proxy-send-timeout"] == "910"
    assert annotations["nginx.ingress.kubernetes.io/proxy-body-size"] == "17m"


@pytest.mark.parametrize(("kind", "annotation"), [("ClusterIssuer", "cert-manager.io/cluster-issuer"),
                                                  ("Issuer", "cert-manager.io/issuer")])
def test_cert_manager_by_annotation(kind: str, annotation: str) -> None:
    docs = docs_for(**INGRESS, route__ingress__certificate="annotation", tls__issuerKind=kind)
    assert docs["Ingress/gemma"]["metadata"]["annotations"][annotation] == "letsencrypt-prod"
    assert docs["Ingress/gemma"]["spec"]["tls"][0]["secretName"] == "gemma-tls"
    assert "Certificate/gemma-tls" not in docs  # the ingress-shim makes it


def test_without_tls_the_controller_serves_its_default_certificate() -> None:
    docs = docs_for(**INGRESS, tls__enabled=False)
    assert docs["Ingress/gemma"]["spec"]["tls"] == [{"hosts": ["gemma.example.com"]}]
    assert "Certificate/gemma-tls" not in docs


def test_the_network_policy_admits_the_controller_instead_of_envoy() -> None:
    ingress = docs_for(**INGRESS, route__ingress__controllerNamespace="ingress-system")["NetworkPolicy/gemma"]["spec"]["ingress"]
    assert ingress[0]["from"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-system"}}}]
    gateway = docs_for()["NetworkPolicy/gemma"]["spec"]["ingress"]
    assert gateway[0]["from"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "envoy-gateway-system"}}}]


def test_an_ingress_environment_renders_and_validates(run: Run, project: Path, write_env: WriteEnv) -> None:
    write_env({"route": {"kind": "ingress", "ingress": {"className": "public-nginx"}}})
    render_ok(run, "edge")
    validate_ok(run)
    assert rendered(project)["Ingress/gemma"]["spec"]["ingressClassName"] == "public-nginx"


@pytest.mark.parametrize(("route", "expected"), [
    ({"kind": "traefik"}, "values/edge.yaml::route.kind: 'traefik' is not one of 'gateway', 'ingress'"),
    ({"ingress": {"className": "Nginx Public"}}, "values/edge.yaml::route.ingress.className: 'Nginx Public' is not valid"),
    ({"ingress": {"certificate": "secret"}}, "values/edge.yaml::route.ingress.certificate: 'secret' is not one of"),
    ({"ingress": {"annotations": {}}}, "values/edge.yaml::route.ingress.annotations: unknown key 'annotations'"),
])
def test_bad_route_values(run: Run, project: Path, write_env: WriteEnv, route: dict[str, object], expected: str) -> None:
    write_env({"route": route})
    result = run("render")
    assert result.exit_code == 2
    assert any(line.startswith("  " + expected.split(": ")[0] + " (line ") and expected.split(": ", 1)[1] in line
               for line in result.output.splitlines()), result.output
    assert not (project / "rendered").exists()
