"""Settings: what the CLI resolved from its options, passed down to every stage."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

VALUES_DIR = "values"
RENDERED_DIR = "rendered"
ARGOCD_DIR = "argocd"
DOCS_DIR = "docs"
SCHEMA_FILE = Path("schemas") / "values.schema.json"
SHARED_LAYER = "_shared.yaml"  # values/_shared.yaml: defaults the team layers under every environment
LOCK_WAIT_SECONDS = 10.0  # how long a command waits for another run's project lock (a full render takes about 1 s)


@dataclass(frozen=True)
class Settings:
    """The project root, the environments a command works on (empty: all of them), and how long to
    wait for another run's project lock."""

    root: Path
    envs: tuple[str, ...] = ()
    lock_wait_seconds: float = LOCK_WAIT_SECONDS

    @property
    def values_dir(self) -> Path:
        return self.root / VALUES_DIR

    @property
    def schema_path(self) -> Path:
        return self.root / SCHEMA_FILE
