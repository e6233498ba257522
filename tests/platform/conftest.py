"""Fixtures for the platform features: an extra environment written from a dict, rendered and validated for real."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import Run
from tests.kube.conftest import block_network  # noqa: F401  (autouse: nothing here may reach the network)

# A minimal environment of its own (own hostname and namespace, so it collides with nothing), with
# the reference's acknowledged warnings: the tests layer their features on top of it.
BASE: dict[str, Any] = {
    "hostname": "gemma-edge.example.com",
    "namespace": "gemma-edge",
    "argocd": {"repoURL": "https://github.com/example/gemma-gitops.git"},
    "acknowledge": {"embeddings-memory": "served", "oci-block-volume-minimum": "billed as 50 GB"},
}

WriteEnv = Callable[..., Path]


def merged(base: Any, over: Any) -> Any:
    """Maps merge key by key, anything else replaces (the values' own layer rule)."""
    if isinstance(base, dict) and isinstance(over, dict):
        return {**base, **{k: merged(base.get(k), v) for k, v in over.items()}}
    return over


@pytest.fixture
def write_env(project: Path) -> WriteEnv:
    """Write values/<name>.yaml: BASE with `values` layered on top; returns its path."""

    def write(values: dict[str, Any] | None = None, name: str = "edge", base: dict[str, Any] | None = None) -> Path:
        path = project / "values" / f"{name}.yaml"
        path.write_text(yaml.safe_dump(merged(base if base is not None else BASE, values or {}), sort_keys=False))
        return path

    return write


def line_of(path: Path, text: str) -> int:
    """The 1-based line of the first line of a file that contains `text`."""
    return next(i for i, line in enumerate(path.read_text().splitlines(), start=1) if text in line)


def rendered(project: Path, env: str = "edge") -> dict[str, dict[str, Any]]:
    """The rendered documents of an environment by `Kind/name`, its Argo CD file as `argocd`."""
    out = {}
    for path in sorted((project / "rendered" / env).glob("*.yaml")):
        doc = yaml.safe_load(path.read_text())
        out[f"{doc['kind']}/{doc['metadata']['name']}"] = doc
    out["argocd"] = yaml.safe_load((project / "argocd" / f"{env}.yaml").read_text())
    return out


def render_ok(run: Run, *envs: str) -> str:
    """Render, asserting success; the output."""
    result = run("render", *envs)
    assert result.exit_code == 0, result.output
    return result.output


def validate_ok(run: Run) -> str:
    """Validate everything rendered, asserting every resource is valid; the summary line."""
    result = run("validate")
    assert result.exit_code == 0, result.output
    return result.output.splitlines()[-1]


def docs_for(env: str = "prod", **changes: Any) -> dict[str, dict[str, Any]]:
    """The rendered documents of a repository environment with changes (`llama__extraArgs=[...]`), by `Kind/name`."""
    from generator.render import render_plan
    from tests.plans import plan_for

    out: dict[str, dict[str, Any]] = {}
    for m in render_plan(plan_for(env, **changes)):
        out["argocd" if m.path.startswith("argocd/") else f"{m.identity.kind}/{m.identity.name}"] = dict(m.doc)
    return out


def pod(docs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The pod spec of the one workload."""
    workload = next(d for k, d in docs.items() if k.split("/")[0] in ("Deployment", "StatefulSet"))
    return dict(workload["spec"]["template"]["spec"])


def container(docs: dict[str, dict[str, Any]], name: str) -> dict[str, Any]:
    """A container of the workload, by name."""
    return next(c for c in pod(docs)["containers"] if c["name"] == name)


def values_errors(**changes: Any) -> list[str]:
    """The problems (as printed) of a repository's prod values with changes; [] when they load."""
    from generator.errors import ValuesError
    from tests.plans import plan_for

    try:
        plan_for("prod", **changes)
    except ValuesError as err:
        return [str(p) for p in err.problems]
    return []
