"""Small things the coordinator and admin pages share: local times, zone names, one-time forms."""
from __future__ import annotations

import secrets
from datetime import datetime
from functools import cache

from flask import current_app

from scheduler.core import phones, timeutil


def when(instant: datetime | None, tz: str) -> str:
    """An instant as the zone's wall clock shows it: 'Tue Mar 10, 6:00 PM'."""
    if instant is None:
        return ""
    local = instant.astimezone(timeutil.zone(tz))
    return f"{local:%a %b} {local.day}, {local.hour % 12 or 12}:{local:%M} {'AM' if local.hour < 12 else 'PM'}"


def day(value) -> str:
    """A date as 'Tue Mar 10, 2026'."""
    return f"{value:%a %b} {value.day}, {value.year}" if value else ""


# The zones of the United States people pick most, east to west, after the clinic's own.
US_ZONES = ("America/New_York", "America/Chicago", "America/Denver", "America/Phoenix",
            "America/Los_Angeles", "America/Anchorage", "Pacific/Honolulu", "America/Puerto_Rico")


def born(value, empty: str = "") -> str:
    """A date of birth as 'Mar 4, 1985' (no weekday: nobody tells people apart by it)."""
    return f"{value:%b} {value.day}, {value.year}" if value else empty


@cache
def _zone_groups(clinic: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    common = tuple(z for z in US_ZONES if z != clinic)
    others = tuple(sorted(z for z in timeutil._zone_names() if z != clinic and z not in common))
    return (("Clinic", (clinic,)), ("United States", common), ("All zones", others))


def zone_choices() -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The Time zone pick-list in groups: CLINIC_TIMEZONE first, the common US zones, then every other."""
    return _zone_groups(clinic_zone())


def clinic_zone() -> str:
    """CLINIC_TIMEZONE: a new patient's, group's or therapist's zone until someone picks another."""
    return current_app.config.get("CLINIC_TIMEZONE") or "America/New_York"


def phone(e164: str | None) -> str:
    """A stored number as the clinic writes it (CLINIC_REGION): national form, others international."""
    return phones.display(e164, current_app.config.get("CLINIC_REGION") or "US")


def new_form_id() -> str:
    """A one-time id a form carries, so a second submit of the same form does not act twice."""
    return secrets.token_urlsafe(12)
