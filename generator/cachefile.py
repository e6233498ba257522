"""Files of the cache directory, written so that a reader never sees part of one."""

from __future__ import annotations

import os
from pathlib import Path


def write_atomically(target: Path, data: bytes) -> None:
    """Write `data` beside `target`, then rename it into place: readers see the old file or the new one,
    and concurrent runs writing the same entry race harmlessly (the last rename wins, whole)."""
    import tempfile  # 3 ms of imports that only a cache miss needs

    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=target.suffix)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
