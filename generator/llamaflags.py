"""llama-server's command-line flags, as the pinned build prints them: what `llama.extraArgs` may name.

generator/data/llama-server-b11434-help.txt is `llama-server --help` of llama.cpp b11434, the build
the image tag pins and `make e2e` installs; tests/e2e/test_flags.py proves it is what the installed
binary prints. Each option is printed by common_arg::to_string (common/arg.cpp): its spellings
joined by ", ", its value hints, then the help from column 40, with `(env: NAME)` when llama-server
also reads it from the environment. llama-server refuses a flag it does not know, at start-up, in
a pod that then restarts forever: `render` refuses it instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

BUILD = 11434
HELP_FILE = f"llama-server-b{BUILD}-help.txt"
HELP_COLUMN = 40  # common_arg::to_string: n_leading_spaces
# The one option of b11434 with a second value hint (common_arg's value_hint_2): the start and end layer.
TWO_VALUES = frozenset({"--control-vector-layer-range"})
_ENV = re.compile(r"\(env: ([A-Za-z0-9_]+)\)")


@dataclass(frozen=True)
class Flag:
    """One option: every spelling (positive and negative), how many values follow it, its variable and help."""

    spellings: tuple[str, ...]
    values: int
    env: str = ""
    help: str = ""


def normalize(arg: str) -> str:
    """The spelling llama-server looks up: a `--` flag with `_` read as `-` (common_params_parse_ex)."""
    return arg.replace("_", "-") if arg.startswith("--") else arg


def _option_text(line: str) -> tuple[str, str]:
    """(the spellings and hints, the help on the same line): the help starts at column 40 when they fit before it."""
    head = line[:HELP_COLUMN]
    if len(line) > HELP_COLUMN and line[HELP_COLUMN] != " " and head.endswith("   "):
        return head.strip(), line[HELP_COLUMN:].strip()
    return line.strip(), ""


def _flag(option: str, help_lines: list[str]) -> Flag:
    """A Flag from its option text (`-c,    --ctx-size N`) and its help lines."""
    parts = [part.strip() for part in option.split(", ")]
    last, _, hint = parts[-1].partition(" ")
    spellings = (*parts[:-1], last)
    values = 0 if not hint.strip() else 2 if last in TWO_VALUES else 1
    text = " ".join(help_lines)
    env = _ENV.search(text)
    return Flag(spellings, values, env.group(1) if env else "", text)


def parse_help(text: str) -> tuple[Flag, ...]:
    """Every option `llama-server --help` lists, in its order."""
    flags: list[Flag] = []
    option: str | None = None
    help_lines: list[str] = []
    for line in text.splitlines():
        if line.startswith("-") and not line.startswith("-----"):
            if option is not None:
                flags.append(_flag(option, help_lines))
            option, first = _option_text(line)
            help_lines = [first] if first else []
        elif option is not None and line.startswith(" " * HELP_COLUMN):
            help_lines.append(line.strip())
        elif option is not None:
            flags.append(_flag(option, help_lines))
            option, help_lines = None, []
    if option is not None:
        flags.append(_flag(option, help_lines))
    return tuple(flags)


@cache
def known() -> dict[str, Flag]:
    """Every spelling the pinned build knows → its option."""
    text = (resources.files("generator") / "data" / HELP_FILE).read_text(encoding="utf-8")
    return {spelling: flag for flag in parse_help(text) for spelling in flag.spellings}
