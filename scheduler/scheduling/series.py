"""Weekly individual sessions booked together: the same local time each week, all or none.

Each week's start is the first session's wall time in the therapist's zone, so a 2:00 PM series
stays at 2:00 PM across a DST change; a week where that time does not exist (spring forward) is
a clash like any other. Every session is checked under the booking's own rules
(appointments.clash) after the therapist and patient are locked, every clash is listed before
anything is written, and the sessions go in in one transaction: PostgreSQL's exclusion
constraints still decide a race, and the whole series then rolls back.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from scheduler.core import timeutil
from scheduler.core.db import lock
from scheduler.core.settings import Settings
from scheduler.errors import Clashes, Invalid
from scheduler.messaging import reminders, weekly
from scheduler.models import Appointment, AppointmentSeries, MessageKind, Patient, Therapist
from scheduler.scheduling import appointments
from scheduler.scheduling.limits import MAX_REPEAT_WEEKS

WALL = "%Y-%m-%dT%H:%M"


def starts(first: datetime, weeks: int, tz: str) -> list[tuple[datetime, datetime | None]]:
    """Each week's local wall time and its instant (None where that wall time does not exist)."""
    wall = first.astimezone(timeutil.zone(tz)).replace(tzinfo=None)
    out = []
    for week in range(weeks):
        local = wall + timedelta(weeks=week)
        try:
            out.append((local, timeutil.localize(local, tz).astimezone(timeutil.UTC)))
        except ValueError:  # NonexistentTime: the clocks skip it that day
            out.append((local, None))
    return out


def book_weekly(session: Session, therapist_id: int, patient_id: int, start: datetime, duration_minutes: int,
                weeks: int, now: datetime, user_id: int | None = None, *, settings: Settings) -> list[Appointment]:
    """Book `weeks` sessions at `start`'s local time each week, all or none (409 listing every clash)."""
    if isinstance(weeks, bool) or not isinstance(weeks, int) or not 1 <= weeks <= MAX_REPEAT_WEEKS:
        raise Invalid({"repeat_weeks": f"must be a whole number from 1 to {MAX_REPEAT_WEEKS}"})
    length = appointments._duration(duration_minutes)
    therapist = lock(session, Therapist, therapist_id, "therapist_id", load="rules")
    patient = lock(session, Patient, patient_id, "patient_id")
    first = appointments._start(start, therapist.timezone, now)
    planned, clashes = [], []
    for week, (local, at) in enumerate(starts(first, weeks, therapist.timezone), start=1):
        why = (("this local time does not exist that day (daylight saving change)", "start") if at is None
               else appointments.clash(session, therapist, patient.id, at, at + length))
        if why:
            clashes.append({"week": week, "start": local.strftime(WALL), "error": why[0], "field": why[1]})
        else:
            planned.append(at)
    if clashes:
        count = f"{len(clashes)} of the {weeks} weekly sessions" if weeks > 1 else "the session"
        raise Clashes(f"{count} cannot be booked; nothing was booked", clashes)
    series_id = None
    if weeks > 1:
        series = AppointmentSeries(created_at=now)
        session.add(series)
        session.flush()
        series_id = series.id
    booked = [appointments.write(session, therapist, patient, at, at + length, now, user_id, series_id)
              for at in planned]
    if series_id is None:  # one week is one booking, told as one
        reminders.appointment_changed(session, booked[0], now, MessageKind.BOOKED, settings=settings)
    else:
        weekly.booked(session, booked, now, settings=settings)
    return booked
