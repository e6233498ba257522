"""An on-disk cache of downloaded schemas, keyed by URL, holding only bodies that parsed as JSON.

The key is the SHA-256 of the URL, as in kubeconform (yannh/kubeconform, pkg/cache/ondisk.go);
unlike kubeconform, a body is stored only after it parsed as a JSON object, so an error page
or a truncated download is never served from the cache later.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from generator.cachefile import write_atomically
from generator.settings import SCHEMA_CACHE_SUBDIR, cache_home

CACHE_SUBDIR = SCHEMA_CACHE_SUBDIR


def default_cache_dir(environ: Mapping[str, str]) -> Path:
    """`$XDG_CACHE_HOME/gemma-gitops/schemas`, else `~/.cache/gemma-gitops/schemas`."""
    return cache_home(environ) / CACHE_SUBDIR


def cache_path(directory: Path, url: str) -> Path:
    """Where the schema downloaded from a URL is kept."""
    return directory / (hashlib.sha256(url.encode("utf-8")).hexdigest() + ".json")


def get(directory: Path, url: str) -> dict[str, Any] | None:
    """The cached schema for a URL, or None if absent or unreadable (then it is fetched anew)."""
    try:
        data = json.loads(cache_path(directory, url).read_bytes())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def put(directory: Path, url: str, schema: Mapping[str, Any]) -> None:
    """Store an already-parsed schema; written beside its target and swapped in atomically."""
    write_atomically(cache_path(directory, url), json.dumps(schema).encode("utf-8"))
