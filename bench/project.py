"""Scratch projects for the generator benchmarks: the committed environments, or N synthetic ones."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from generator.settings import ARGOCD_DIR, DOCS_DIR, RENDERED_DIR, SHARED_LAYER, VALUES_DIR

REPO = Path(__file__).resolve().parents[1]
TEMPLATE_ENV = "prod"  # each synthetic environment is a variant of this one
CONTEXT_SIZES = (2048, 3072, 4096)  # cycled, so environments differ in more than names
OUTPUTS = (RENDERED_DIR, ARGOCD_DIR, DOCS_DIR)


def _base(dest: Path) -> Path:
    """A project root holding the repository's schemas/ and pyproject.toml, nothing rendered."""
    dest.mkdir(parents=True)
    shutil.copytree(REPO / "schemas", dest / "schemas")
    shutil.copy(REPO / "pyproject.toml", dest / "pyproject.toml")  # validate reads its config
    (dest / VALUES_DIR).mkdir()
    return dest


def committed_project(dest: Path) -> Path:
    """A copy of the repository's schemas and every values file (layers and environments)."""
    root = _base(dest)
    for values in sorted((REPO / VALUES_DIR).glob("*.yaml")):
        shutil.copy(values, root / VALUES_DIR / values.name)
    return root


def synthetic_values(index: int) -> dict[str, object]:
    """The values of synthetic environment `index`: prod with its own hostname, namespace and context."""
    values = yaml.safe_load((REPO / VALUES_DIR / f"{TEMPLATE_ENV}.yaml").read_text(encoding="utf-8"))
    values["hostname"] = f"env-{index:03d}.bench.example.com"
    values["namespace"] = f"env-{index:03d}"
    values["llama"]["contextSize"] = CONTEXT_SIZES[index % len(CONTEXT_SIZES)]
    return dict(values)


def synthetic_project(dest: Path, count: int) -> Path:
    """`count` environments values/env-001.yaml … over the repository's shared layer, if it has one."""
    root = _base(dest)
    shared = REPO / VALUES_DIR / SHARED_LAYER
    if shared.is_file():
        shutil.copy(shared, root / VALUES_DIR / SHARED_LAYER)
    for index in range(1, count + 1):
        text = yaml.safe_dump(synthetic_values(index), sort_keys=False)
        (root / VALUES_DIR / f"env-{index:03d}.yaml").write_text(text, encoding="utf-8")
    return root


def clear_outputs(root: Path) -> None:
    """Remove everything a render writes, so the next render starts from nothing."""
    for name in OUTPUTS:
        shutil.rmtree(root / name, ignore_errors=True)
