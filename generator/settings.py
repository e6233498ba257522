"""Settings: what the CLI resolved from its options, passed down to every stage."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

VALUES_DIR = "values"
RENDERED_DIR = "rendered"
ARGOCD_DIR = "argocd"
DOCS_DIR = "docs"
SCHEMA_FILE = Path("schemas") / "values.schema.json"
SHARED_LAYER = "_shared.yaml"  # values/_shared.yaml: defaults the team layers under every environment
CACHE_NAME = "gemma-gitops"


def cache_home(environ: Mapping[str, str]) -> Path:
    """`$XDG_CACHE_HOME/gemma-gitops`, else `~/.cache/gemma-gitops`: what runs keep for the next one."""
    return Path(environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / CACHE_NAME


@dataclass(frozen=True)
class Settings:
    """The project root, the environments a command works on (empty: all of them), and where compiled
    templates are kept between runs (None: nowhere)."""

    root: Path
    envs: tuple[str, ...] = ()
    cache_dir: Path | None = None

    @property
    def values_dir(self) -> Path:
        return self.root / VALUES_DIR

    @property
    def schema_path(self) -> Path:
        return self.root / SCHEMA_FILE
