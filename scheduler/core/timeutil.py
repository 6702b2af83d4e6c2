"""Time: local wall time <-> UTC, nonexistent-time checks, rrule expansion."""
from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from dateutil import rrule as _rrule

# The column type lives with the models (models/types.py); code written before it moved names it here.
from scheduler.models.types import UTCDateTime  # noqa: F401

UTC = UTC


class NonexistentTime(ValueError):
    """A local wall time skipped by a DST change."""


def zone(name: str) -> ZoneInfo:
    """The ZoneInfo for an IANA name; ValueError for anything else."""
    if not isinstance(name, str) or name not in _zone_names():
        raise ValueError("unknown time zone")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError("unknown time zone") from exc


_ZONES: set[str] | None = None


def _zone_names() -> set[str]:
    global _ZONES
    if _ZONES is None:
        _ZONES = available_timezones()
    return _ZONES


def localize(naive: datetime, tz: str) -> datetime:
    """Attach zone `tz` to a local wall time; refuse a time that does not exist there."""
    local = naive.replace(tzinfo=zone(tz), fold=0)
    # zoneinfo accepts 02:30 on spring-forward day silently; a round trip through UTC exposes it.
    back = local.astimezone(UTC).astimezone(zone(tz))
    if back.replace(tzinfo=None) != naive.replace(fold=0):
        raise NonexistentTime("this local time does not exist (daylight saving change)")
    return local





def parse_date(text: str) -> date:
    """A calendar date from YYYY-MM-DD."""
    try:
        return date.fromisoformat(text.strip())
    except (AttributeError, ValueError) as exc:
        raise ValueError("expected a date like 2026-03-10") from exc


def parse_hhmm(text: str) -> time:
    """A wall-clock time from HH:MM."""
    try:
        hh, mm = text.strip().split(":")
        if len(hh) != 2 or len(mm) != 2:
            raise ValueError
        return time(int(hh), int(mm))
    except (AttributeError, ValueError) as exc:
        raise ValueError("expected a time like 09:30") from exc


def iso(value: datetime | None, tz: str | None = None) -> str | None:
    """ISO 8601 with offset, in `tz` when given (else UTC)."""
    if value is None:
        return None
    return value.astimezone(zone(tz) if tz else UTC).isoformat()


def validate_rrule(rule: str, dtstart_local: datetime) -> None:
    """Raise ValueError unless `rule` is an RFC 5545 RRULE that yields at least one date."""
    if not isinstance(rule, str) or not rule.strip() or "\n" in rule:
        raise ValueError("expected an RRULE such as FREQ=WEEKLY;COUNT=12")
    text = rule.strip()
    if text.upper().startswith("RRULE:"):
        text = text[6:]
    if "FREQ=" not in text.upper():
        raise ValueError("an RRULE needs FREQ, e.g. FREQ=WEEKLY;COUNT=12")
    if re.search(r"(^|;)\s*INTERVAL\s*=\s*0*\s*(;|$)", text.upper()):
        raise ValueError("INTERVAL must be at least 1")  # dateutil would loop forever on 0
    try:
        rr = _rrule.rrulestr(text, dtstart=dtstart_local, ignoretz=True)
    except (ValueError, TypeError, KeyError) as exc:
        raise ValueError("expected an RRULE such as FREQ=WEEKLY;COUNT=12") from exc
    if rr._freq > _rrule.DAILY:  # hourly or finer is not a series of sessions
        raise ValueError("sessions repeat at most daily")
    if rr.after(dtstart_local, inc=True) is None:
        raise ValueError("this RRULE yields no date")


def occurrence_starts(
    dtstart_local: datetime, tz: str, rule: str | None, until_date: date
) -> list[tuple[date, datetime]]:
    """Local dates and UTC starts of a series up to `until_date`, keeping local wall time.

    Expansion runs on naive local wall times (so 18:00 stays 18:00 across DST) and each
    start is then placed in the zone; a start that falls in a DST gap is moved forward by
    the gap, which is what a clinic clock on the wall would show.
    """
    end_local = datetime.combine(until_date, time.max)
    if not rule:
        starts = [dtstart_local] if dtstart_local <= end_local else []
    else:
        text = rule.strip()
        if text.upper().startswith("RRULE:"):
            text = text[6:]
        rr = _rrule.rrulestr(text, dtstart=dtstart_local, ignoretz=True)
        starts = rr.between(dtstart_local, end_local, inc=True)
    out = []
    for local in starts:
        aware = local.replace(tzinfo=zone(tz), fold=0)
        out.append((local.date(), aware.astimezone(UTC)))
    return out


def local_date_of(instant: datetime, tz: str) -> date:
    """The calendar date of an instant in zone `tz`."""
    return instant.astimezone(zone(tz)).date()



def parse_datetime_input(text) -> datetime:
    """ISO 8601 from a request: aware when it has an offset, naive (local, zone unknown yet) if not."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError("expected an ISO 8601 date-time")
    raw = text.strip()
    if raw.endswith(("Z", "z")):
        raw = raw[:-1] + "+00:00"
    try:
        return datetime.fromisoformat(raw)
    except ValueError as exc:
        raise ValueError("expected an ISO 8601 date-time such as 2026-03-10T18:00:00-05:00") from exc


def resolve(value: datetime, tz: str) -> datetime:
    """Aware UTC from parse_datetime_input's result, reading a naive value in zone `tz`."""
    if value.tzinfo is None:
        value = localize(value, tz)
    return value.astimezone(UTC)
