"""Report: a diff laid out as text for a terminal, or as Markdown for a pull-request comment or job summary."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from .fields import Op
from .resources import EnvDiff, ResourceDiff, Status

MARKS = {Status.CHANGED: "~", Status.ADDED: "+", Status.REMOVED: "-"}
NO_CHANGES = "No changes to the deployment"


@dataclass(frozen=True)
class Report:
    """Everything a diff prints: what it compared with, notes about the base, and every environment."""

    base: str  # the commit, abbreviated: `1a2b3c4`
    reason: str  # why that commit: `merge base of HEAD and main`
    notes: tuple[str, ...]
    envs: tuple[EnvDiff, ...]

    @property
    def headline(self) -> str:
        return f"Comparing the working tree with {self.base} ({self.reason})."

    def no_changes(self) -> str:
        """`No changes to the deployment (prod, staging).`"""
        return f"{NO_CHANGES} ({', '.join(e.env for e in self.envs) or 'no environments'})."


# -- text --------------------------------------------------------------------------------------


def text(report: Report) -> str:
    """The terminal form: one line per field change, each naming its resource."""
    lines = [report.headline, *(f"note: {note}" for note in report.notes)]
    if not any(report.envs):
        return "\n".join([*lines, report.no_changes()])
    for env in report.envs:
        lines.append("")
        lines.append(f"{env.env}: {env.summary()}" if env else f"{env.env}: no changes")
        for resource in env.resources:
            lines.extend(_text_resource(resource))
    return "\n".join(lines)


def _text_resource(resource: ResourceDiff) -> Iterator[str]:
    """`  + Kind ns/name`, or one `  ~ Kind ns/name: path: change` line per field (text diffs indented below)."""
    mark = MARKS[resource.status]
    if not resource.changes:
        yield f"  {mark} {resource.key}"
    for change in resource.changes:
        yield f"  {mark} {resource.key}: {change}"
        yield from (f"      {line}" for line in change.lines)


# -- markdown ----------------------------------------------------------------------------------


def markdown(report: Report) -> str:
    """A heading per environment, its summary, a bullet per resource, field changes in code blocks."""
    lines = ["## Deployment diff", "", f"Comparing the working tree with {_code(report.base)} ({report.reason})."]
    for note in report.notes:
        lines.extend(["", f"> **Note:** {note}"])
    if not any(report.envs):
        return "\n".join([*lines, "", f"**{report.no_changes()}**"])
    for env in report.envs:
        lines.extend(["", f"### {env.env}", ""])
        lines.append(f"**{env.summary()}**" if env else "No changes.")
        for resource in env.resources:
            lines.extend(_markdown_resource(resource))
    return "\n".join(lines)


def _markdown_resource(resource: ResourceDiff) -> Iterator[str]:
    """A bullet; its field changes in one code block, each text diff in a `diff` block under its path."""
    yield ""
    yield f"- **{resource.status.value.capitalize()}** {_code(str(resource.key))}"
    fields = [str(c) for c in resource.changes if c.op is not Op.TEXT]
    if fields:
        yield from _indented(["", *_fence(fields, "")])
    for change in (c for c in resource.changes if c.op is Op.TEXT):
        yield from _indented(["", f"{_code(change.path)}:", "", *_fence(list(change.lines), "diff")])


def _fence(lines: list[str], language: str) -> list[str]:
    """A fenced code block whose fence is longer than any run of backticks inside it."""
    longest = max((len(run) for line in lines for run in re.findall(r"`+", line)), default=0)
    fence = "`" * max(3, longest + 1)
    return [f"{fence}{language}", *lines, fence]


def _code(text: str) -> str:
    """Inline code that survives backticks in the text."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    ticks = "`" * (longest + 1)
    return f"{ticks} {text} {ticks}" if longest else f"{ticks}{text}{ticks}"


def _indented(lines: list[str]) -> Iterator[str]:
    """Lines continued inside a list item (two spaces, the width of `- `)."""
    return (f"  {line}" if line else "" for line in lines)


FORMATS: dict[str, Callable[[Report], str]] = {"text": text, "markdown": markdown}
