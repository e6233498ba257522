"""What a validation run found: one Result per resource, and the Report that counts them.

Statuses and counts follow kubeconform (yannh/kubeconform, pkg/validator/validator.go and
pkg/output/text.go): the status enum has no "valid" zero value; Invalid means a schema or rule
failed; Error means the resource could not be checked (parse error, no schema, broken schema).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from generator.manifest import Identity
from generator.problems import Problem


class Status(enum.Enum):
    """How one resource fared; ordered so the worse status wins when two apply."""

    VALID = 1
    SKIPPED = 2  # its kind is in ignore-kinds: reported, never silent
    ERROR = 3  # could not be checked
    INVALID = 4  # checked, and wrong


def worse(a: Status, b: Status) -> Status:
    """The worse of two statuses (Invalid > Error > Skipped > Valid)."""
    return a if a.value >= b.value else b


@dataclass(frozen=True)
class Result:
    """The outcome for one resource (or one document that could not become a resource)."""

    label: str  # the file, with `#N` for the Nth document of a multi-document file
    identity: Identity | None
    status: Status
    # each names its check in `rule`: the Kind for schema errors, a rule ID, `yaml` for parse errors
    problems: tuple[Problem, ...] = ()
    note: str = ""  # why it was skipped
    limitations: tuple[str, ...] = ()  # checks this tool could not run on it (CEL rules it cannot compile)


@dataclass(frozen=True)
class ExternalVerdict:
    """What an external validator (kubeconform) said, beside our own verdict."""

    tool: str
    kubernetes_version: str
    status: str  # passed, failed, or skipped
    summary: str
    exit_code: int | None = None


@dataclass(frozen=True)
class Report:
    """Every result of a run, the files it read, and any external verdicts."""

    results: tuple[Result, ...]
    files: tuple[str, ...]
    kubernetes_versions: tuple[str, ...]
    external: tuple[ExternalVerdict, ...] = ()

    def count(self, status: Status) -> int:
        """How many resources ended with a status."""
        return sum(1 for r in self.results if r.status is status)

    def problems(self) -> tuple[Problem, ...]:
        """Every problem of every resource, in report order."""
        return tuple(p for r in self.results for p in r.problems)

    def limitations(self) -> tuple[str, ...]:
        """Each check this tool could not run, once however many resources it concerned, sorted."""
        return tuple(sorted({line for r in self.results for line in r.limitations}))

    @property
    def failed(self) -> bool:
        """Whether anything failed: a problem, an unchecked resource, or a failed external verdict."""
        bad = self.count(Status.INVALID) + self.count(Status.ERROR)
        return bad > 0 or any(v.status == "failed" for v in self.external)

    def summary_line(self) -> str:
        """kubeconform's summary line, with its plural rules (pkg/output/text.go)."""
        total = len(self.results)
        files = len(self.files)
        return (
            f"Summary: {total} resource{'s' if total > 1 else ''} found in {files} file{'s' if files > 1 else ''}"
            f" - Valid: {self.count(Status.VALID)}, Invalid: {self.count(Status.INVALID)},"
            f" Errors: {self.count(Status.ERROR)}, Skipped: {self.count(Status.SKIPPED)}"
            + (f", Tool limitations: {len(self.limitations())}" if self.limitations() else "")
        )
