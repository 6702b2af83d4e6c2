"""Issue 8's probes report how much they tried: printed at the end of the run (counts only)."""
from __future__ import annotations

from collections import Counter

import pytest

PROBED: Counter = Counter()


@pytest.fixture
def probed() -> Counter:
    """Add to it what a test tried, e.g. probed["forgeries"] += 1."""
    return PROBED


def pytest_terminal_summary(terminalreporter):
    if PROBED:
        terminalreporter.write_line("security probes: " + ", ".join(f"{k}={v}" for k, v in sorted(PROBED.items())))
