"""Therapists: weekly hours, time off, free slots and the calendar a clinician works from."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from scheduler.core import timeutil
from scheduler.core.db import lock
from scheduler.errors import Conflict, Invalid, NotFound
from scheduler.models import (
    ACTIVE_APPOINTMENT_STATUSES,
    Appointment,
    AvailabilityException,
    AvailabilityRule,
    GroupSeries,
    Occurrence,
    Therapist,
)
from scheduler.scheduling import availability, busy

MAX_SLOT_RANGE = timedelta(days=31)
MAX_CALENDAR_RANGE = timedelta(days=62)
NEXT_FREE_HORIZON = timedelta(weeks=12)  # "Next free time" looks this far ahead
SLOT_STEP = timedelta(minutes=15)
MAX_SESSION = busy.MAX_SESSION


@dataclass(frozen=True)
class TimeOff:
    """An exception as given: start/end aware, or naive local wall times in the therapist's zone."""

    start: datetime
    end: datetime
    reason: str | None = None


def names(session: Session) -> list[tuple[int, str]]:
    """Every therapist as (id, name), by name: what a form offers to pick from."""
    return [tuple(row) for row in session.execute(select(Therapist.id, Therapist.name)
                                                  .order_by(Therapist.name, Therapist.id))]


def by_name(session: Session) -> list[Therapist]:
    """Every therapist, by name: the day at a glance and staff's calendar picker."""
    return list(session.scalars(select(Therapist).order_by(Therapist.name, Therapist.id)))


def get(session: Session, therapist_id: int) -> Therapist:
    """The therapist, or 404."""
    therapist = session.get(Therapist, therapist_id)
    if therapist is None:
        raise NotFound("therapist not found")
    return therapist


def create(session: Session, name: str, email: str | None, tz: str, now: datetime) -> Therapist:
    """Add a therapist with no hours yet; an email links a future therapist user to them."""
    timeutil.zone(tz)  # ValueError for a zone the caller did not validate
    email = email.strip().lower() if email else None
    if email and session.scalar(select(Therapist.id).where(func.lower(Therapist.email) == email)):
        # auth.create_user links a therapist user by email, so it must name one therapist.
        raise Conflict("another therapist has this email", field="email")
    therapist = Therapist(name=name, email=email, timezone=tz, created_at=now)
    session.add(therapist)
    session.flush()
    return therapist


def for_new_user(session: Session, email: str, name: str | None, tz: str,
                 now: datetime) -> tuple[Therapist, bool]:
    """The record a new therapist user works as: the therapist with this email, or a new one
    with `name` and `tz` (an admin adding a clinician does both in one step). True when new."""
    found = session.scalar(select(Therapist).where(func.lower(Therapist.email) == email.strip().lower()))
    if found is not None:
        return found, False
    errors = {}
    if not name:
        errors["name"] = "is required for a new therapist"
    try:
        timeutil.zone(tz)
    except ValueError:
        errors["timezone"] = "must be a time zone from the list, such as America/New_York"
    if errors:
        raise Invalid(errors)
    return create(session, name, email, tz, now), True


def weekly_rules(therapist: Therapist) -> list[availability.WeeklyRule]:
    """The stored weekly hours as pure availability rules."""
    return [availability.WeeklyRule(r.weekday, r.start_time, r.end_time) for r in therapist.rules]


def exception_intervals(session: Session, therapist_id: int, start: datetime,
                        end: datetime) -> list[tuple[datetime, datetime]]:
    """Time off overlapping [start, end)."""
    rows = session.execute(select(AvailabilityException.start_dt, AvailabilityException.end_dt).where(
        AvailabilityException.therapist_id == therapist_id,
        AvailabilityException.start_dt < end, AvailabilityException.end_dt > start))
    return [tuple(r) for r in rows]


def _end(end: time) -> time:
    """A block's end for comparisons: 00:00 (24:00) sorts after every time of the day."""
    return time.max if end == time(0) else end


def _check_rules(rules: list[tuple[int, time, time]]) -> list[availability.WeeklyRule]:
    """WeeklyRules from (weekday, start, end); 422 naming rules[i].field for any bad or overlapping one."""
    errors: dict[str, str] = {}
    for i, (weekday, start, end) in enumerate(rules):
        if not 0 <= weekday <= 6:
            errors[f"rules[{i}].weekday"] = "must be 0 (Monday) to 6 (Sunday)"
        elif end <= start and end != time(0):  # an end of 00:00 is 24:00, the end of the day
            errors[f"rules[{i}].end"] = "must be after start (no overnight hours)"
    if errors:
        raise Invalid(errors)
    for i, (weekday, start, end) in enumerate(rules):
        for j in range(i):
            other_day, other_start, other_end = rules[j]
            # Touching blocks (09:00-12:00, 12:00-17:00) are fine; real overlaps are a typo.
            if other_day == weekday and start < _end(other_end) and other_start < _end(end):
                field = "start" if other_start <= start < _end(other_end) else "end"
                until = "24:00" if other_end == time(0) else f"{other_end:%H:%M}"
                errors.setdefault(f"rules[{i}].{field}", f"overlaps rules[{j}] ({other_start:%H:%M}-{until})")
    if errors:
        raise Invalid(errors)
    return [availability.WeeklyRule(*rule) for rule in rules]


def _resolve_time_off(time_off: list[TimeOff], tz: str) -> list[AvailabilityException]:
    """Exceptions as UTC instants; 422 naming exceptions[i].field for a nonexistent or reversed one."""
    errors: dict[str, str] = {}
    rows = []
    for i, item in enumerate(time_off):
        bounds = {}
        for field in ("start", "end"):
            try:
                bounds[field] = timeutil.resolve(getattr(item, field), tz)
            except ValueError as exc:
                errors[f"exceptions[{i}].{field}"] = str(exc)
        if len(bounds) == 2:
            if bounds["end"] <= bounds["start"]:
                errors[f"exceptions[{i}].end"] = "must be after start"
            else:
                rows.append(AvailabilityException(start_dt=bounds["start"], end_dt=bounds["end"],
                                                  reason=item.reason))
    if errors:
        raise Invalid(errors)
    return rows


def set_availability(session: Session, therapist_id: int, rules: list[tuple[int, time, time]],
                     time_off: list[TimeOff] | None, now: datetime) -> tuple[Therapist, list[Appointment]]:
    """Replace the weekly hours (and the time off, when given).

    Booked appointments are never touched; the upcoming ones the new hours no longer cover
    are returned so staff can move them.
    """
    therapist = lock(session, Therapist, therapist_id, "therapist")  # no booking slips in meanwhile
    weekly = _check_rules(rules)
    exceptions = _resolve_time_off(time_off, therapist.timezone) if time_off is not None else None
    therapist.rules.clear()
    session.flush()
    for rule in weekly:
        therapist.rules.append(AvailabilityRule(weekday=rule.weekday, start_time=rule.start,
                                                end_time=rule.end))
    if exceptions is not None:
        therapist.exceptions.clear()
        session.flush()
        therapist.exceptions.extend(exceptions)
    session.flush()
    return therapist, outside_hours(session, therapist, now)


def outside_hours(session: Session, therapist: Therapist, now: datetime) -> list[Appointment]:
    """Upcoming active appointments that the therapist's current hours or time off do not allow."""
    upcoming = session.scalars(select(Appointment).where(
        Appointment.therapist_id == therapist.id, Appointment.status.in_(ACTIVE_APPOINTMENT_STATUSES),
        Appointment.start_dt > now).order_by(Appointment.start_dt)).all()
    if not upcoming:
        return []
    weekly = weekly_rules(therapist)
    off = [(e.start_dt, e.end_dt) for e in therapist.exceptions]
    return [a for a in upcoming
            if not availability.is_available(weekly, therapist.timezone, off, a.start_dt, a.end_dt)]


def meetings_in_time_off(session: Session, therapist: Therapist,
                         now: datetime) -> list[tuple[Occurrence, GroupSeries]]:
    """Upcoming live meetings the therapist facilitates that their time off overlaps, soonest first.

    Kept as they are, like appointments outside the hours: listed so staff can cancel them or
    hand the group to someone else.
    """
    off = busy.time_off(session, therapist.id, now)
    if not off:
        return []
    rows = session.execute(select(Occurrence, GroupSeries).join(GroupSeries).where(
        GroupSeries.facilitator_id == therapist.id, Occurrence.cancelled.is_(False), Occurrence.start_dt > now,
        Occurrence.start_dt < max(end for _, end in off)).order_by(Occurrence.start_dt, Occurrence.id)).all()
    return [(occ, group) for occ, group in rows
            if any(start < occ.end_dt and occ.start_dt < end for start, end in off)]


def _check_range(start: datetime, end: datetime, longest: timedelta) -> None:
    """422 unless `to` is after `from` and the range is at most `longest`."""
    if end <= start:
        raise Invalid({"to": "must be after from"})
    if end - start > longest:
        raise Invalid({"to": f"the range may span at most {longest.days} days"})


def slots(session: Session, therapist: Therapist, start: datetime, end: datetime,
          duration: timedelta, now: datetime) -> list[tuple[datetime, datetime]]:
    """Bookable slots in [start, end): inside hours, clear of time off and of busy time, not past."""
    _check_range(start, end, MAX_SLOT_RANGE)
    start = max(start, now)  # a slot that has begun cannot be booked
    if end <= start:
        return []
    taken = busy.therapist_intervals(session, therapist.id, start, end)
    off = exception_intervals(session, therapist.id, start, end)
    # Slots start on the local quarter-hour grid; a slot starting exactly at `now` is still past.
    return [(s, e) for s, e in availability.free_slots(
        weekly_rules(therapist), therapist.timezone, off, taken, start, end, duration, SLOT_STEP)
        if s > now]


def next_free(session: Session, therapist: Therapist, now: datetime, length: timedelta,
              horizon: timedelta = NEXT_FREE_HORIZON) -> datetime | None:
    """The start of the therapist's next bookable slot of `length` within `horizon`, or None.

    Looked for a week at a time: the first week with any free time is usually this one or the next.
    """
    start = now
    while start < now + horizon:
        end = min(start + timedelta(days=7), now + horizon)
        found = slots(session, therapist, start, end, length, now)
        if found:
            return found[0][0]
        start = end
    return None


def calendar(session: Session, therapist: Therapist, start: datetime,
             end: datetime) -> tuple[list[Appointment], list[tuple[Occurrence, GroupSeries]]]:
    """Appointments (any status) and facilitated group occurrences overlapping [start, end)."""
    _check_range(start, end, MAX_CALENDAR_RANGE)
    # The lower bound on start_dt lets both queries use their start-time index.
    appointments = session.scalars(select(Appointment).where(
        Appointment.therapist_id == therapist.id,
        Appointment.start_dt > start - MAX_SESSION, Appointment.start_dt < end,
        Appointment.end_dt > start).order_by(Appointment.start_dt, Appointment.id)).all()
    occurrences = session.execute(select(Occurrence, GroupSeries).join(GroupSeries).where(
        GroupSeries.facilitator_id == therapist.id,
        Occurrence.start_dt > start - MAX_SESSION, Occurrence.start_dt < end,
        Occurrence.end_dt > start).order_by(Occurrence.start_dt, Occurrence.id)).all()
    return list(appointments), [tuple(r) for r in occurrences]
