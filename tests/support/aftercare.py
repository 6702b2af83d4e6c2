"""Aftercare test helpers: wall times in any zone."""
from __future__ import annotations

from datetime import date, datetime

from scheduler.core import timeutil

NY = "America/New_York"


def local(day: date, hh: int, mm: int = 0, tz: str = NY) -> datetime:
    """A wall time in `tz` as an aware UTC instant."""
    return timeutil.localize(datetime(day.year, day.month, day.day, hh, mm), tz).astimezone(timeutil.UTC)
