"""The e2e environment as the spine renders it, in a scratch project: its manifests, containers and budget."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner

from generator.cli import cli
from generator.manifest import Manifest
from generator.plan import Plan, build_plan
from generator.render import render_plan
from generator.settings import SCHEMA_FILE, VALUES_DIR, Settings
from generator.values import load_environment, load_schema
from testkit.pins import REPO

ENV = "e2e"
VALUES_FILE = Path(__file__).resolve().parent / "values" / f"{ENV}.yaml"
WORKLOAD_KINDS = ("Deployment", "StatefulSet")


def raw_values() -> dict[str, Any]:
    """tests/e2e/values/e2e.yaml as written (the schema's defaults are layered in by the spine)."""
    return dict(yaml.safe_load(VALUES_FILE.read_text(encoding="utf-8")))


def scratch_project(root: Path, values: dict[str, Any] | None = None) -> Settings:
    """A project in `root` with the repository's schema and the e2e values (or `values`) as values/e2e.yaml."""
    (root / SCHEMA_FILE).parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / SCHEMA_FILE, root / SCHEMA_FILE)
    (root / VALUES_DIR).mkdir(exist_ok=True)
    if values is None:
        shutil.copy(VALUES_FILE, root / VALUES_DIR / f"{ENV}.yaml")
    else:
        (root / VALUES_DIR / f"{ENV}.yaml").write_text(yaml.safe_dump(values, sort_keys=False), encoding="utf-8")
    return Settings(root=root, envs=(ENV,))


def merged_values(settings: Settings) -> dict[str, Any]:
    """The e2e environment's values after layering and validation."""
    return dict(load_environment(ENV, settings, load_schema(settings)).data)


def plan_of(settings: Settings) -> Plan:
    """The e2e environment's plan, as `make render` builds it."""
    return build_plan(load_environment(ENV, settings, load_schema(settings)))


def render(settings: Settings) -> list[Manifest]:
    """Every manifest of the e2e environment, as `make render` would write them (its Application left out)."""
    manifests = render_plan(build_plan(load_environment(ENV, settings, load_schema(settings))))
    return [m for m in manifests if not m.path.startswith("argocd/")]


def workload(manifests: list[Manifest]) -> dict[str, Any]:
    """The one Deployment (or StatefulSet) that runs the pod."""
    found = [dict(m.doc) for m in manifests if m.identity.kind in WORKLOAD_KINDS]
    assert len(found) == 1, f"expected one workload, rendered {[m.identity.kind for m in manifests]}"
    return found[0]


def container(doc: dict[str, Any], name: str) -> dict[str, Any]:
    """A container of the workload's pod template, by name."""
    containers = {c["name"]: c for c in doc["spec"]["template"]["spec"]["containers"]}
    assert name in containers, f"no container {name!r} in {doc['kind']} {doc['metadata']['name']}: {sorted(containers)}"
    return containers[name]


def budget(settings: Settings) -> dict[str, Any]:
    """`gemma-gitops budget --output json e2e`, parsed: the memory the capacity planner predicts."""
    result = CliRunner().invoke(cli, ["--root", str(settings.root), "budget", "--output", "json", ENV],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    [report] = json.loads(result.stdout)
    return dict(report)
