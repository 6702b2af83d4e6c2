"""The one clock. Edges (views, commands, jobs) read it; domain functions are given `now`.

Tests pin time here (or with time-machine) rather than patching each module.
"""
from __future__ import annotations

from datetime import UTC, datetime


def now() -> datetime:
    """The current instant, aware UTC."""
    return datetime.now(UTC)
