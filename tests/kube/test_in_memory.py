"""`check` validates the render it holds in memory exactly as `validate` validates the same files on disk."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from generator import yamlio
from generator.cli import cli
from generator.kube.check import scope_of, validate_manifests, validate_paths
from generator.kube.config import ENV_SCHEMA_LOCATIONS, resolve_options
from generator.kube.output import format_json
from generator.pipeline.check import check_options
from generator.pipeline.render import render_all
from generator.settings import Settings
from tests.kube.conftest import PROJECT_ROOT

HTTPROUTE = Path("gateway.networking.k8s.io") / "httproute_v1.json"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the repository's values, schema and committed render."""
    for name in ("schemas", "values", "rendered", "argocd", "docs"):
        shutil.copytree(PROJECT_ROOT / name, tmp_path / name)
    return tmp_path


def strict_httproute(into: Path, crd_schemas: Path) -> Path:
    """A schema location whose HTTPRoute schema also requires `spec.owner`: every rendered route fails it."""
    schema = json.loads((crd_schemas / HTTPROUTE).read_text())
    schema["properties"]["spec"]["required"] = [*schema["properties"]["spec"].get("required", []), "owner"]
    (into / HTTPROUTE).parent.mkdir(parents=True)
    (into / HTTPROUTE).write_text(json.dumps(schema))
    return into


@pytest.mark.parametrize("locations", [(), ("strict", "default")])
def test_the_report_on_the_render_equals_the_report_on_its_files(
    project: Path, tmp_path: Path, crd_schemas: Path, locations: tuple[str, ...]
) -> None:
    if locations:
        strict_httproute(tmp_path / "strict", crd_schemas)
    settings = Settings(root=project)
    rendered = render_all(settings)
    paths = tuple((tmp_path / "strict").as_posix() if loc == "strict" else loc for loc in locations)
    versions = {f"rendered/{plan.env}": plan.spec.kubernetes_versions for plan in rendered.plans}
    options = resolve_options(project, schema_locations=paths, values_versions=versions, cache_dir=tmp_path / "cache")
    in_memory = validate_manifests(rendered.manifests, options)
    on_disk = validate_paths([project / "rendered", project / "argocd"], options)
    assert format_json(in_memory) == format_json(on_disk)
    assert in_memory.failed is bool(locations)


def test_a_rendered_document_is_what_its_file_reads_back_as() -> None:
    rendered = render_all(Settings(root=PROJECT_ROOT))
    assert rendered.manifests
    for manifest in rendered.manifests:
        assert yamlio.load_one(manifest.text) == manifest.doc, manifest.path


def test_check_takes_each_environments_versions_from_its_plan() -> None:
    settings = Settings(root=PROJECT_ROOT)
    rendered = render_all(settings)
    options = check_options(settings, rendered.plans, {})
    assert dict(options.scope_versions) == {f"rendered/{p.env}": p.spec.kubernetes_versions for p in rendered.plans}


@pytest.mark.parametrize(("path", "scope"), [
    ("rendered/prod/service-gemma.yaml", "rendered/prod"),
    ("rendered/prod/sub/x.yaml", "rendered/prod"),
    ("argocd/prod.yaml", "argocd"),
    ("top.yaml", ""),
])
def test_scope_of_a_path_is_what_validate_gives_its_file(path: str, scope: str) -> None:
    assert scope_of(path) == scope


def test_check_reports_what_validate_reports_and_exits_1(
    project: Path, tmp_path: Path, crd_schemas: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV_SCHEMA_LOCATIONS, f"{strict_httproute(tmp_path / 'strict', crd_schemas)},default")
    runner = CliRunner()
    checked = runner.invoke(cli, ["--root", str(project), "check"])
    validated = runner.invoke(cli, ["--root", str(project), "validate"])
    assert (checked.exit_code, validated.exit_code) == (1, 1)
    lines = checked.stdout.splitlines()
    assert lines[0].startswith("in sync: ")
    assert lines[1:] == validated.stdout.splitlines()
    assert "rendered/prod/httproute-gemma.yaml::$.spec: 'owner' is a required property (HTTPRoute)" in lines


def test_check_refuses_an_environment_naming_an_unshipped_kubernetes_version(project: Path) -> None:
    staging = project / "values/staging.yaml"
    staging.write_text(staging.read_text().replace('["1.34", "1.35"]', '["1.34", "1.99"]'))
    result = CliRunner().invoke(cli, ["--root", str(project), "check"])
    assert result.exit_code == 2
    assert result.stdout == ""  # nothing said before the error
    assert "Kubernetes version '1.99' has no bundled schemas" in result.stderr
