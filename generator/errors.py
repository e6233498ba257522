"""The exception hierarchy: every user-facing failure carries its exit code.

The CLI turns a GeneratorError into a message and an exit code in exactly one place
(`generator.cli.main`); anything else is a bug and is allowed to show a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass

EXIT_OK = 0
EXIT_FAILED = 1  # drift, a failed check, a deployment that cannot fit
EXIT_BAD_INPUT = 2  # the user's input (values, options, files) is wrong


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one input: where it is and what is wrong."""

    file: str
    path: str  # a key path like `llama.contextSize`, or `line 3, column 5`
    message: str

    def __str__(self) -> str:
        where = f"{self.file}::{self.path}" if self.path else self.file
        return f"{where}: {self.message}"


class GeneratorError(Exception):
    """Base of every error we report to the user without a traceback."""

    exit_code = EXIT_BAD_INPUT

    def __init__(self, message: str, problems: tuple[Problem, ...] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.problems = problems

    def lines(self) -> list[str]:
        """The message, then one line per problem."""
        return [self.message, *(f"  {p}" for p in self.problems)]


class ValuesError(GeneratorError):
    """A values file cannot be read, parsed or validated."""


class TemplateError(GeneratorError):
    """A template failed to render (a bug in a template, or a value it cannot use)."""


class SchemaLookupError(GeneratorError):
    """A Kubernetes or CRD schema could not be found or read."""


class CheckFailed(GeneratorError):
    """A check ran and found problems (drift, invalid manifests, a budget that does not fit)."""

    exit_code = EXIT_FAILED
