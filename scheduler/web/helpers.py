"""Small things the coordinator and admin pages share: local times, zone names, one-time forms."""
from __future__ import annotations

import secrets
from datetime import datetime
from functools import cache

from scheduler.core import timeutil


def when(instant: datetime | None, tz: str) -> str:
    """An instant as the zone's wall clock shows it: 'Tue Mar 10, 6:00 PM'."""
    if instant is None:
        return ""
    local = instant.astimezone(timeutil.zone(tz))
    return f"{local:%a %b} {local.day}, {local.hour % 12 or 12}:{local:%M} {'AM' if local.hour < 12 else 'PM'}"


def day(value) -> str:
    """A date as 'Tue Mar 10, 2026'."""
    return f"{value:%a %b} {value.day}, {value.year}" if value else ""


@cache
def zone_names() -> list[str]:
    """Every IANA zone name, for the Time zone fields' suggestions."""
    return sorted(timeutil._zone_names())


def new_form_id() -> str:
    """A one-time id a form carries, so a second submit of the same form does not act twice."""
    return secrets.token_urlsafe(12)
