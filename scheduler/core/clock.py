"""The one clock. Edges (views, commands, jobs) read it; domain functions are given `now`.

Nothing else in scheduler/ calls datetime.now() (the console SMS backend's own bookkeeping
aside: it stands in for Twilio's clock). Tests pin time with the `frozen_clock` fixture
(tests/conftest.py, time-machine), which every caller of now() sees.
"""
from __future__ import annotations

from datetime import UTC, datetime


def now() -> datetime:
    """The current instant, aware UTC."""
    return datetime.now(UTC)
