"""Problem: one thing wrong with one input, the one type every stage reports with.

Values errors, capacity guards, manifest schema errors, cross-resource rules and policy checks
all produce a Problem: where (file, key path or JSON path, line), what, how bad, and which check.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

PathPart = str | int
KeyPath = tuple[PathPart, ...]


class Severity(enum.Enum):
    """How bad a problem is: an error stops the command, a warning asks the user to look, an
    acknowledged warning is one the values say the team has looked at (with the reason)."""

    ERROR = "error"
    WARNING = "warning"
    ACKNOWLEDGED = "acknowledged"


@dataclass(frozen=True)
class Problem:
    """`file::path (line N): message (rule)`, the one-line form every report prints."""

    file: str
    path: str  # a key path (`llama.contextSize`), a JSON path (`$.spec.replicas`) or `line 3, column 5`
    message: str
    line: int | None = None  # where in `file` the value was set, when known
    severity: Severity = Severity.ERROR
    rule: str = ""  # which check said so: a rule ID, a Kind for schema errors, `yaml`, `cel`, `native:<id>`
    detail: str = ""  # the check's own words where a report shows them: the CEL rule, a native check's ID

    def __str__(self) -> str:
        where = self.path + (f" (line {self.line})" if self.line is not None else "")
        located = f"{self.file}::{where}" if where else self.file
        return f"{located}: {self.message}" + (f" ({self.rule})" if self.rule else "")

    @property
    def is_error(self) -> bool:
        """Whether this problem stops the command."""
        return self.severity is Severity.ERROR


def key_path(parts: KeyPath) -> str:
    """`llama.resources.limits`, list indexes as `[0]`: how values key paths are written."""
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def json_path(parts: KeyPath) -> str:
    """`$.spec.ports[0].targetPort`: how manifest paths are written (jsonschema's json_path)."""
    return "$" + ("." if parts and not isinstance(parts[0], int) else "") + key_path(parts) if parts else "$"


def errors_of(problems: tuple[Problem, ...] | list[Problem]) -> tuple[Problem, ...]:
    """The problems that are errors, in order."""
    return tuple(p for p in problems if p.is_error)


def warnings_of(problems: tuple[Problem, ...] | list[Problem]) -> tuple[Problem, ...]:
    """The problems that are warnings (not acknowledged ones), in order."""
    return tuple(p for p in problems if p.severity is Severity.WARNING)


def acknowledged_of(problems: tuple[Problem, ...] | list[Problem]) -> tuple[Problem, ...]:
    """The warnings the values acknowledge, in order."""
    return tuple(p for p in problems if p.severity is Severity.ACKNOWLEDGED)
