"""An on-disk cache of downloaded schemas, keyed by URL, holding only bodies that parsed as JSON.

The key is the SHA-256 of the URL, as in kubeconform (yannh/kubeconform, pkg/cache/ondisk.go);
unlike kubeconform, a body is stored only after it parsed as a JSON object, so an error page
or a truncated download is never served from the cache later.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from generator.settings import cache_home

CACHE_SUBDIR = "schemas"


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
    directory.mkdir(parents=True, exist_ok=True)
    target = cache_path(directory, url)
    fd, temp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(schema, handle)
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
