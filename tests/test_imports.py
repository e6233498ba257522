"""A command loads only the libraries it uses: start-up is most of a small run's time (see bench/)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

# Run a command as `gemma-gitops` does, then print every module it loaded.
PROBE = """
import json, runpy, sys
sys.argv = ["gemma-gitops", *sys.argv[1:]]
try:
    runpy.run_module("generator", run_name="__main__")
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""
NEVER_UNLESS_ASKED = ("gguf", "numpy", "urllib.request", "importlib.metadata", "kubernetes_validate", "checkov",
                      "yamllint", "pytest")
# The reference implementation of JSON Schema names the errors of invalid values and manifests;
# jsonschema-rs passes valid ones alone (generator/jsonschemas.py, values.fast_verdict).
ONLY_FOR_FAILURES = ("jsonschema", "referencing")
RENDERING = ("jinja2", "generator.render", "generator.plan", "generator.guards", "generator.docs")
VALIDATING = ("generator.kube.check", "generator.kube.registry", "generator.kube.cel", "cel_expr_python")


def loaded(root: Path, *args: str) -> set[str]:
    """The modules one run of the command loaded."""
    done = subprocess.run([sys.executable, "-c", PROBE, "--root", str(root), *args], capture_output=True, text=True,
                          cwd=root, timeout=120)
    return set(json.loads(done.stderr.strip().splitlines()[-1]))


@pytest.mark.parametrize(("args", "absent"), [
    (("validate",), (*NEVER_UNLESS_ASKED, *ONLY_FOR_FAILURES, *RENDERING)),
    (("check",), (*NEVER_UNLESS_ASKED, *ONLY_FOR_FAILURES)),
    (("render",), (*NEVER_UNLESS_ASKED, *ONLY_FOR_FAILURES, *VALIDATING)),
    (("budget",), (*NEVER_UNLESS_ASKED, *ONLY_FOR_FAILURES, *VALIDATING, "jinja2", "generator.render")),
    (("inspect", "--help"), (*NEVER_UNLESS_ASKED, *ONLY_FOR_FAILURES, *RENDERING, *VALIDATING)),
])
def test_a_command_loads_only_what_it_uses(project: Path, args: tuple[str, ...], absent: tuple[str, ...]) -> None:
    loaded(project, "render")
    loaded(project, "check")  # the first run on a machine checks the CRD schemas against their metaschema
    modules = loaded(project, *args)
    assert "generator.cli" in modules  # the probe ran the command
    assert sorted(m for m in modules if m.split(".")[0] in absent or m in absent) == []


def test_the_cel_library_loads_only_for_a_schema_with_rules(project: Path) -> None:
    loaded(project, "render")
    service = str(project / "rendered" / "prod" / "service-gemma.yaml")
    assert not {"cel_expr_python", "google.protobuf"} & loaded(project, "validate", service)
    assert "cel_expr_python" in loaded(project, "validate", str(project / "rendered" / "prod" / "httproute-gemma.yaml"))


def test_the_probe_sees_what_a_command_loads(project: Path) -> None:
    loaded(project, "render")
    assert {"jinja2", "generator.kube.check", "cel_expr_python"} <= loaded(project, "check")
    assert "jsonschema" in loaded(project, "validate", "--cache-dir", str(project / "empty-cache"))
