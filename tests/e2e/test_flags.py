"""The flags llama.extraArgs is checked against are the installed build's: its --help, parsed, is the committed one."""

from __future__ import annotations

import subprocess
from pathlib import Path

from generator import llamaflags


def test_the_committed_flag_list_is_what_the_pinned_binary_prints(llama_binary: Path) -> None:
    result = subprocess.run([str(llama_binary), "--help"], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    printed = llamaflags.parse_help(result.stdout)
    committed = llamaflags.parse_help(
        (Path(llamaflags.__file__).parent / "data" / llamaflags.HELP_FILE).read_text(encoding="utf-8"))
    assert printed == committed
    assert len(printed) > 200
