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
# Marks a project's root, as .git marks a repository's: commands walk up from the working directory
# to the first directory holding both this file and values/ (see generator/project.py for why).
MARKER = "gemma-gitops.toml"

PACKAGE_DIR = Path(__file__).resolve().parent
# The values schema the package carries: the one its plan and templates are written for. In the
# tool's own repository it is a copy of schemas/values.schema.json (tests/test_packaging.py).
PACKAGED_SCHEMA = PACKAGE_DIR / "schemas" / "values.schema.json"


@dataclass(frozen=True)
class Override:
    """One `--set path=value` or `-f FILE` of the command line: a values layer above the environment's files."""

    source: str  # how messages name it: `--set llama.contextSize`, `extra.yaml`, `(stdin)`
    text: str  # `path=value` for --set; the YAML text for -f (stdin read once, by the CLI)
    kind: str = "file"  # "set" or "file"
LOCK_WAIT_SECONDS = 10.0  # how long a command waits for another run's project lock (a full render takes about 1 s)

CACHE_NAME = "gemma-gitops"
SCHEMA_CACHE_SUBDIR = "schemas"  # under the cache directory: downloaded schemas, metaschema records, definitions


def cache_home(environ: Mapping[str, str]) -> Path:
    """`$XDG_CACHE_HOME/gemma-gitops`, else `~/.cache/gemma-gitops`: what runs keep for the next one."""
    return Path(environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / CACHE_NAME


@dataclass(frozen=True)
class Settings:
    """The project root, the environments a command works on (empty: all of them), extra value layers,
    how long to wait for another run's project lock, and where compiled templates are kept between runs
    (None: nowhere)."""

    root: Path
    envs: tuple[str, ...] = ()
    overrides: tuple[Override, ...] = ()
    lock_wait_seconds: float = LOCK_WAIT_SECONDS
    cache_dir: Path | None = None

    @property
    def values_dir(self) -> Path:
        return self.root / VALUES_DIR

    @property
    def schema_cache(self) -> Path | None:
        """Where schema work is kept between runs (`definitions/` closures), None without a cache directory."""
        return self.cache_dir / SCHEMA_CACHE_SUBDIR if self.cache_dir is not None else None

    @property
    def project_schema(self) -> Path:
        """The project's copy of the values schema: for editors and reviewers, written by `init` and `render`."""
        return self.root / SCHEMA_FILE

    @property
    def is_tool_source(self) -> bool:
        """Whether the running generator is this project's own package (the tool's repository, or a
        base that `diff` renders with its own generator): then schemas/ holds the schema's source."""
        return PACKAGE_DIR.parent == self.root.resolve()

    @property
    def schema_path(self) -> Path:
        """The schema values are validated with: the one written for the templates that will render them.

        A project's own copy may be older than the installed tool (until the next `render` refreshes
        it); validating with it while rendering with newer templates would let a value the templates
        need go without its default. So it is the packaged schema, except in the tool's own source.
        """
        return self.project_schema if self.is_tool_source else PACKAGED_SCHEMA
