"""Compile a CEL expression once per process, evaluate it against a bound `self`.

Errors are worded as cel-go words them, since the API server prints cel-go's text
(`no such key: certificateRefs evaluating rule: ...`): cel-cpp's status prefixes are dropped
and its "key not found" becomes cel-go's "no such key".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from generator.kube.cel.library import OLD_SELF, SELF, environment

_STATUS = re.compile(r"^[A-Z_]+: ")
_NO_SUCH_KEY = re.compile(r'^Key not found in map : "?(.*?)"?$')
_NO_OVERLOAD = re.compile(r"^No matching overloads found")
# An identifier `oldSelf` outside string literals makes a transition rule.
_STRINGS = re.compile(r"""[rR]?('''.*?'''|\"\"\".*?\"\"\"|'(?:\\.|[^'\\])*'|"(?:\\.|[^"\\])*")""", re.DOTALL)
_OLD_SELF = re.compile(r"\boldSelf\b")


class CompileError(Exception):
    """A rule our CEL environment cannot compile: a tool limitation, never the user's error."""


@dataclass(frozen=True)
class Outcome:
    """A rule's result: a value, or cel-go's text for the evaluation error."""

    value: Any = None
    error: str = ""


@cache  # asked for each rule at every evaluation
def uses_old_self(expression: str) -> bool:
    """Whether a rule refers to `oldSelf` (a transition rule), ignoring string literals."""
    return bool(_OLD_SELF.search(_STRINGS.sub("''", expression)))


@cache
def compile_expression(expression: str, optional_old_self: bool = False) -> Any:
    """The compiled program, once per process; raises CompileError with the compiler's first line."""
    source = f"cel.bind({OLD_SELF}, optional.none(), {expression})" if optional_old_self else expression
    try:
        return environment().compile(source)
    except RuntimeError as err:  # cel-cpp reports every compile failure as a RuntimeError
        raise CompileError(_STATUS.sub("", str(err).splitlines()[0]).removeprefix("ERROR: <input>:")) from err


def evaluate(program: Any, activation: Any) -> Outcome:
    """Run a program against an activation."""
    value = program.eval(activation)
    if value.type().name().upper() == "ERROR":
        return Outcome(error=cel_go_error(str(value.value())))
    return Outcome(value=value.value())


def activation(bound_self: Any) -> Any:
    """An activation binding `self`, shared by every rule of one schema node."""
    return environment().Activation({SELF: bound_self})


def cel_go_error(message: str) -> str:
    """cel-cpp's error text in cel-go's words where they differ."""
    message = _STATUS.sub("", message.strip())
    found = _NO_SUCH_KEY.match(message)
    if found:
        return f"no such key: {found.group(1)}"
    if _NO_OVERLOAD.match(message):
        return "no such overload"
    return message
