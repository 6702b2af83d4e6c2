"""Small things the coordinator and admin pages share: local times, zone names, one-time forms."""
from __future__ import annotations

import secrets
from datetime import datetime
from functools import cache

from flask import session

from scheduler.core import timeutil

_REMEMBERED = 30  # form ids kept in the session cookie


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


def done_before(form_id: str) -> str | None:
    """Where the first submit of this form led, if it was already handled."""
    return (session.get("done_forms") or {}).get(form_id or "")


def remember(form_id: str, location: str) -> None:
    """Record that this form was handled and where it led (the last few only)."""
    if not form_id:
        return
    done = dict(session.get("done_forms") or {})
    done[form_id] = location
    session["done_forms"] = dict(list(done.items())[-_REMEMBERED:])
