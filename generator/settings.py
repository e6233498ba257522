"""Settings: what the CLI resolved from its options, passed down to every stage."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

VALUES_DIR = "values"
RENDERED_DIR = "rendered"
ARGOCD_DIR = "argocd"
DOCS_DIR = "docs"
SCHEMAS_DIR = "schemas"
SCHEMA_FILE = Path(SCHEMAS_DIR) / "values.schema.json"
SHARED_LAYER = "_shared.yaml"  # values/_shared.yaml: defaults the team layers under every environment


@dataclass(frozen=True)
class Settings:
    """The project root and the environments a command works on (empty: all of them)."""

    root: Path
    envs: tuple[str, ...] = ()

    @property
    def values_dir(self) -> Path:
        return self.root / VALUES_DIR

    @property
    def schema_path(self) -> Path:
        return self.root / SCHEMA_FILE
