"""The fresh-clone test prints what its `make check` read at the end of the run, whether it passed or not."""

from __future__ import annotations

import pytest

REPORT: list[str] = []  # filled by test_fresh_clone.py


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """What the fresh clone's `make check` opened, by place, and how the network was blocked."""
    if REPORT:
        terminalreporter.write_sep("-", "fresh clone: make check offline")
        for line in REPORT:
            terminalreporter.write_line(line)
