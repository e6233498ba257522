"""Each schema is checked against its metaschema once per content, not once per run.

jsonschema's `check_schema` of the six CRD schemas the reference renders took about 0.4 s of every
`validate` (issue 20), though the vendored files change only with `make update-crd-schemas`. A schema
that passes is recorded on disk under the cache directory, keyed by a digest of what the verdict
depends on (the schema as validated, its draft, jsonschema's version: `jsonschemas.content_key`), so
any change to the file, the draft or the library checks it again. A disk record rather than one made
at vendoring time: it covers every schema location alike (the vendored schemas, a user's directory,
the catalog's downloads) with one rule.

A record holds its own key; anything else in its place (a truncated or foreign file) is ignored,
the schema checked again and the record rewritten. Records are written beside their place and
renamed into it, so concurrent runs each see a whole record or none, and agree on its content.
Only passes are recorded: a broken schema is reported on every run until it is fixed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from generator import jsonschemas
from generator.cachefile import write_atomically

CHECKED_SUBDIR = "checked"


def record_path(cache_dir: Path, key: str) -> Path:
    """Where the record of a checked schema is kept."""
    return cache_dir / CHECKED_SUBDIR / f"{key}.json"


def is_recorded(cache_dir: Path, key: str) -> bool:
    """Whether a whole, matching record says the schema with this key passed."""
    try:
        data = json.loads(record_path(cache_dir, key).read_bytes())
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and data.get("key") == key and data.get("verdict") == "valid"


def record(cache_dir: Path, key: str, draft: str) -> None:
    """Record a pass: written beside its place, then renamed into it."""
    write_atomically(record_path(cache_dir, key), json.dumps({"key": key, "verdict": "valid", "draft": draft}).encode())


def check(schema: Mapping[str, Any], draft: str, cache_dir: Path | None, text: str | None = None) -> str | None:
    """Why the schema is not a valid schema of its draft, or None; a recorded pass is not checked again.

    `text` is the schema's canonical form (`jsonschemas.canonical`), when the caller has it already."""
    if cache_dir is None:
        return jsonschemas.metaschema_error(schema, draft)
    key = jsonschemas.content_key(schema, draft, text)
    if is_recorded(cache_dir, key):
        return None
    error = jsonschemas.metaschema_error(schema, draft)
    if error is None:
        try:
            record(cache_dir, key, draft)
        except OSError:
            pass  # a read-only cache costs the next run the check again, never a verdict
    return error
