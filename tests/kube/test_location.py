"""Schema-location templates expand exactly as kubeconform's do, and typos fail at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.errors import SchemaLookupError
from generator.kube.location import (
    CATALOG_LAYOUT,
    check_local,
    expand,
    parse_location,
    parse_template,
    template_values,
)

KUBECONFORM_DEFAULT = (
    "https://kubernetesjsonschema.dev/{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}"
    "/{{ .ResourceKind }}{{ .KindSuffix }}.json"
)


# The first four rows are kubeconform's own (yannh/kubeconform, pkg/registry/registry_test.go).
@pytest.mark.parametrize(
    ("template", "kind", "api_version", "k8s_version", "strict", "expected"),
    [
        (
            KUBECONFORM_DEFAULT,
            "Deployment",
            "apps/v1",
            "1.16.0",
            True,
            "https://kubernetesjsonschema.dev/v1.16.0-standalone-strict/deployment-apps-v1.json",
        ),
        (
            KUBECONFORM_DEFAULT,
            "Deployment",
            "apps/v1",
            "1.16.0",
            False,
            "https://kubernetesjsonschema.dev/v1.16.0-standalone/deployment-apps-v1.json",
        ),
        (
            KUBECONFORM_DEFAULT,
            "Service",
            "v1",
            "1.18.0",
            False,
            "https://kubernetesjsonschema.dev/v1.18.0-standalone/service-v1.json",
        ),
        (
            KUBECONFORM_DEFAULT,
            "Service",
            "v1",
            "master",
            False,
            "https://kubernetesjsonschema.dev/master-standalone/service-v1.json",
        ),
        # KindSuffix keeps only the group's first label.
        (
            KUBECONFORM_DEFAULT,
            "NetworkPolicy",
            "networking.k8s.io/v1",
            "1.31.0",
            True,
            "https://kubernetesjsonschema.dev/v1.31.0-standalone-strict/networkpolicy-networking-v1.json",
        ),
        # The CRDs-catalog layout.
        (
            "/s/{{.Group}}/{{.ResourceKind}}_{{.ResourceAPIVersion}}.json",
            "HTTPRoute",
            "gateway.networking.k8s.io/v1",
            "1.34.0",
            True,
            "/s/gateway.networking.k8s.io/httproute_v1.json",
        ),
        (
            "/s/{{.Group}}/{{.ResourceKind}}_{{.ResourceAPIVersion}}.json",
            "Application",
            "argoproj.io/v1alpha1",
            "1.31.0",
            True,
            "/s/argoproj.io/application_v1alpha1.json",
        ),
        # kubeconform's quirk: for the core group, Group is the version itself.
        (
            "/s/{{.Group}}/{{.ResourceKind}}_{{.ResourceAPIVersion}}.json",
            "ConfigMap",
            "v1",
            "1.31.0",
            True,
            "/s/v1/configmap_v1.json",
        ),
        # Kinds are lower-cased; whitespace inside actions is optional.
        (
            "/s/{{.ResourceKind}}{{.StrictSuffix}}-{{ .NormalizedKubernetesVersion}}.json",
            "ExternalSecret",
            "external-secrets.io/v1",
            "1.31.0",
            False,
            "/s/externalsecret-v1.31.0.json",
        ),
    ],
)
def test_expands_like_kubeconform(
    template: str, kind: str, api_version: str, k8s_version: str, strict: bool, expected: str
) -> None:
    location = parse_location(template, Path("/"))
    assert expand(location, template_values(kind, api_version, k8s_version, strict)) == expected


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("/s/{{.Grop}}.json", "unknown template action {{.Grop}}"),
        ("/s/{{ if .Group }}x{{ end }}.json", "unknown template action {{ if .Group }}"),
        ("/s/{{.Group}.json", "unclosed action"),
        ("/s/{{Group}}.json", "unknown template action {{Group}}"),
    ],
)
def test_a_template_typo_fails_when_parsed(template: str, message: str) -> None:
    with pytest.raises(SchemaLookupError, match=message.replace("{", r"\{").replace("}", r"\}").replace(".", r"\.")):
        parse_template(template)


def test_a_bare_directory_gets_the_catalog_layout(tmp_path: Path) -> None:
    location = parse_location("crds/", tmp_path)
    assert location.template == f"{tmp_path.as_posix()}/crds/{CATALOG_LAYOUT}"
    assert not location.is_remote


def test_a_url_prefix_gets_the_catalog_layout() -> None:
    location = parse_location("https://example.com/crds", Path("/"))
    assert location.template == f"https://example.com/crds/{CATALOG_LAYOUT}"
    assert location.is_remote


def test_only_version_dependent_templates_are_versioned() -> None:
    assert parse_location(KUBECONFORM_DEFAULT, Path("/")).uses_kubernetes_version
    assert not parse_location("/s/" + CATALOG_LAYOUT, Path("/")).uses_kubernetes_version


def test_a_local_location_whose_directory_is_missing_fails_at_once(tmp_path: Path) -> None:
    location = parse_location("missing/{{.Group}}/{{.ResourceKind}}.json", tmp_path)
    with pytest.raises(SchemaLookupError, match="does not exist"):
        check_local(location)


def test_an_existing_local_location_passes_the_check(crd_schemas: Path) -> None:
    check_local(parse_location(crd_schemas.as_posix(), Path("/")))
