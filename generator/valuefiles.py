"""Values files as files: where they are, reading one safely, and what `validate` needs from them.

The values stage (values.py) parses and validates them; this module only finds and reads them, with
no JSON Schema library, so `validate` can learn each environment's Kubernetes versions cheaply.
"""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path
from typing import Any

from . import yamlio
from .errors import ValuesError
from .settings import SHARED_LAYER, Settings

MAX_FILE_BYTES = 4 * yamlio.VALUES_LIMITS.max_chars  # UTF-8 takes at most 4 bytes a character
ENV_NAME = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?\Z")  # an environment's name: an RFC 1123 label


def environment_names(settings: Settings) -> list[str]:
    """Every environment: each `values/<env>.yaml` whose name does not start with `_`."""
    if not settings.values_dir.is_dir():
        raise ValuesError(f"no values directory at {settings.values_dir}")
    try:
        names = os.listdir(settings.values_dir)
    except OSError as err:
        raise ValuesError(f"{settings.values_dir.name}/: cannot read: {err.strerror}") from err
    return sorted(name.removesuffix(".yaml") for name in names if name.endswith(".yaml") and not name.startswith(("_", ".")))


def read_text(path: Path, inside: Path, file: str) -> str:
    """A values file's text: a regular file (or a symlink to one) inside `inside`, at most the values
    size limit, UTF-8. A symlink out of the directory is refused unread, so no error line can show
    what another file (a key, a password file) contains."""
    real = Path(os.path.realpath(path))  # unlike Path.resolve, never raises on a symlink loop (open says ELOOP)
    if path.is_symlink() and not real.is_relative_to(os.path.realpath(inside)):
        raise ValuesError(f"{file}: a symlink to a file outside {inside.name}/; values files are read only "
                          f"from {inside.name}/ (copy the file in instead)")
    try:
        fd = os.open(real, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)  # a FIFO must not block
        with os.fdopen(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                raise ValuesError(f"{file}: not a regular file")
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as err:
        raise ValuesError(f"{file}: cannot read: {err.strerror}") from err
    if len(data) > MAX_FILE_BYTES:
        raise ValuesError(f"{file}: larger than {MAX_FILE_BYTES // (1 << 20)} MiB, the limit for a values file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise ValuesError(f"{file}: not UTF-8 text (byte 0x{data[err.start]:02x} on line {line}); "
                          "save it as UTF-8") from err


def schema_default(settings: Settings, key: str) -> tuple[str, ...]:
    """The default the values schema gives a top-level list (read as plain JSON; () when it cannot say)."""
    try:
        schema: Any = json.loads(settings.schema_path.read_text(encoding="utf-8"))
        default = schema["properties"][key]["default"]
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError):
        return ()
    return tuple(str(v) for v in default) if isinstance(default, list) else ()


def kubernetes_versions(settings: Settings) -> dict[str, tuple[str, ...]]:
    """Each environment's `kubernetesVersions`, read leniently: no schema check, so a values file that is
    broken elsewhere does not stop `validate`; a file that cannot say gives the schema's default."""
    if not settings.values_dir.is_dir():
        return {}
    default = schema_default(settings, "kubernetesVersions")
    shared = _declared_versions(settings.values_dir / SHARED_LAYER)
    return {name: _declared_versions(settings.values_dir / f"{name}.yaml") or shared or default
            for name in environment_names(settings)}


def _declared_versions(path: Path) -> tuple[str, ...]:
    """The `kubernetesVersions` list a values file sets, or () when it sets none it can be read for."""
    try:
        data = yamlio.load_one(read_text(path, path.parent, path.name), yamlio.VALUES_LIMITS)
    except (OSError, ValuesError, yamlio.YAMLError):
        return ()
    versions = data.get("kubernetesVersions") if isinstance(data, dict) else None
    ok = isinstance(versions, list) and all(isinstance(v, str) for v in versions)
    return tuple(versions) if ok and versions else ()
