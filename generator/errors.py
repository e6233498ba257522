"""The exception hierarchy: every user-facing failure carries its exit code.

The CLI turns a GeneratorError into a message and an exit code in exactly one place
(`generator.cli`); anything else is a bug.
"""

from __future__ import annotations

from .problems import Problem

EXIT_OK = 0
EXIT_FAILED = 1  # drift, a failed check, a deployment that cannot fit
EXIT_BAD_INPUT = 2  # the user's input (values, options, files) is wrong
EXIT_BUG = 3  # an unexpected exception: a bug in gemma-gitops, reported in one line, never a traceback


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
