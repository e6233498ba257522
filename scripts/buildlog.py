"""What the llama.cpp build scripts share: how a long build shows it is still moving."""

from __future__ import annotations

import re
from pathlib import Path


def last_progress(log: Path) -> str:
    """The latest `[ NN%] ...` line of a build log, to show that a long build moves."""
    try:
        lines = log.read_text(encoding="utf-8", errors="replace").splitlines()[-200:]
    except OSError:
        return ""
    progress = [line.strip() for line in lines if re.search(r"\[\s*\d+%\]", line)]
    return progress[-1][:120] if progress else ""
