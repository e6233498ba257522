"""Example manifests: positive/ validates clean, each negative/<case>/ fails with exactly expected.txt."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from generator.kube.check import validate_paths
from generator.kube.output import format_text
from generator.kube.report import Status
from tests.kube.conftest import NEGATIVE, POSITIVE, options_for

NEGATIVE_CASES = sorted(p.name for p in NEGATIVE.iterdir() if p.is_dir())


@pytest.mark.parametrize("version", ["1.31", "1.34"])
def test_positive_set_is_clean(version: str, crd_schemas: Path) -> None:
    options = options_for(POSITIVE, crd_schemas, kubernetes_versions=(version,))
    report = validate_paths([POSITIVE / "rendered", POSITIVE / "argocd"], options)
    assert (
        format_text(report) == "Summary: 9 resources found in 9 files - Valid: 9, Invalid: 0, Errors: 0, Skipped: 0\n"
    )
    assert not report.failed


def test_positive_set_covers_the_kinds_it_promises(crd_schemas: Path) -> None:
    report = validate_paths([POSITIVE / "rendered", POSITIVE / "argocd"], options_for(POSITIVE, crd_schemas))
    kinds = {(r.identity.api_version, r.identity.kind) for r in report.results if r.identity}
    assert kinds == {
        ("apps/v1", "Deployment"),
        ("v1", "Service"),
        ("v1", "ConfigMap"),
        ("v1", "PersistentVolumeClaim"),
        ("external-secrets.io/v1", "ExternalSecret"),
        ("gateway.networking.k8s.io/v1", "HTTPRoute"),
        ("cert-manager.io/v1", "Certificate"),
        ("networking.k8s.io/v1", "NetworkPolicy"),
        ("argoproj.io/v1alpha1", "Application"),
    }


def test_every_negative_case_has_an_expectation() -> None:
    assert len(NEGATIVE_CASES) >= 8
    assert all((NEGATIVE / case / "expected.txt").is_file() for case in NEGATIVE_CASES)


@pytest.mark.parametrize("case", NEGATIVE_CASES)
def test_negative_case_fails_with_the_expected_lines(case: str, crd_schemas: Path) -> None:
    directory = NEGATIVE / case
    report = validate_paths([directory], options_for(directory, crd_schemas))
    expected = (directory / "expected.txt").read_text(encoding="utf-8").replace("{crd_schemas}", crd_schemas.as_posix())
    assert format_text(report) == expected
    assert report.failed


def test_environments_are_separate_scopes(tmp_path: Path, crd_schemas: Path) -> None:
    """The same names in rendered/prod and rendered/staging are no duplicates."""
    shutil.copytree(POSITIVE / "rendered" / "prod", tmp_path / "rendered" / "prod")
    shutil.copytree(POSITIVE / "rendered" / "prod", tmp_path / "rendered" / "staging")
    report = validate_paths([tmp_path / "rendered"], options_for(tmp_path, crd_schemas))
    assert report.count(Status.VALID) == 16
    assert not report.failed
