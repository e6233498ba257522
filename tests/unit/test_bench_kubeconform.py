"""The bench's kubeconform comparison: what it would run, and that it says so when it cannot.

No kubeconform binary can be had on this machine (it is Go; no Go toolchain or module proxy here), so
the timing path is not run by any test: these tests check what kubeconform would be given, and that
without it the report says it was not run rather than showing any number.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import kubeconform
from generator.kube.config import VENDORED_CRDS
from generator.kube.location import expand, parse_location, template_values
from generator.kube.resource import load_file, manifest_files

REPO = Path(__file__).resolve().parents[2]


def test_without_kubeconform_the_report_says_it_was_not_run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    found = kubeconform.run_comparisons([("committed", 2, REPO, ("1.34",))], lambda _n: 1, {}, lambda _line: None)
    assert isinstance(found, kubeconform.NotRun)
    assert found.reason.startswith("not run: kubeconform is not on PATH")


def test_kubeconform_is_asked_for_strict_offline_validation_of_the_tree() -> None:
    argv = kubeconform.argv("/usr/bin/kubeconform", REPO, "1.34")
    assert argv[:7] == ["/usr/bin/kubeconform", "-strict", "-summary", "-output", "text", "-kubernetes-version", "1.34.0"]
    locations = [argv[i + 1] for i, arg in enumerate(argv) if arg == "-schema-location"]
    assert all(not loc.startswith(("http://", "https://")) and loc != "default" for loc in locations)
    assert argv[-2:] == [str(REPO / "rendered"), str(REPO / "argocd")]


def test_its_schema_locations_name_a_schema_for_every_committed_resource() -> None:
    """kubeconform's templates, expanded as kubeconform expands them, find a file for each resource."""
    bundled_template, crd_template = (loc for i, loc in enumerate(kubeconform.argv("k", REPO, "1.34"))
                                      if i and kubeconform.argv("k", REPO, "1.34")[i - 1] == "-schema-location")
    bundled, crds = parse_location(bundled_template, REPO), parse_location(crd_template, REPO)
    resources = [m for d in (REPO / "rendered", REPO / "argocd") for f in manifest_files(d)
                 for m in load_file(f, REPO).manifests]
    assert len(resources) >= 20
    for resource in resources:
        values = template_values(resource.identity.kind, resource.identity.api_version, "1.34.0", strict=True)
        found = [Path(expand(loc, values)) for loc in (bundled, crds) if Path(expand(loc, values)).is_file()]
        assert found, f"{resource.where}: no schema for kubeconform"
    assert crd_template.startswith(VENDORED_CRDS.as_posix())
