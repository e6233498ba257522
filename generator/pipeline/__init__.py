"""The commands, each a plain function returning an exit code, one module per family of commands.

The data path runs one way: values → plans (`plans`) → manifests (`render`) → write, compare and
validate (`render`, `check`), or budget (`budget`); `validate` and `inspect` read files only. The CLI
imports the module of the command it runs, so a command pays only for the libraries of its stages:
`validate` loads neither Jinja2 nor the plan, `render` no validator, `inspect` no values (see bench/).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager

from .. import tree
from ..settings import Settings

Echo = Callable[[str], None]


def session(settings: Settings, command: str, write: bool = False) -> AbstractContextManager[None]:
    """The project lock for one command (exclusive to write, shared to read), an interrupted write completed first."""
    return tree.session(settings.root, write, settings.lock_wait_seconds, " ".join((command, *settings.envs)))
