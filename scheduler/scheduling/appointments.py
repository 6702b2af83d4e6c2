"""Individual appointments: book, reschedule, cancel, confirm, record attendance.

Every change locks therapist then patient (dbutil.lock) before it checks anything, so two
requests for the same time cannot both pass the checks; PostgreSQL's exclusion constraints
on appointments are the backstop. Cancelling or moving frees the patient's time, so the groups
whose waitlist they are on are then locked (last, in id order) and offered again. Each change writes its status event and its texts
(reminders.appointment_changed) in the same transaction.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from functools import cache

from sqlalchemy import bindparam, insert, select
from sqlalchemy.orm import Session, aliased
from sqlalchemy.orm.attributes import set_committed_value

from scheduler.aftercare import outreach
from scheduler.core import timeutil
from scheduler.core.db import is_postgres, lock
from scheduler.core.settings import Settings
from scheduler.errors import Conflict, Invalid, NotFound, Taken
from scheduler.messaging import reminders, weekly
from scheduler.models import (
    ACTIVE_APPOINTMENT_STATUSES,
    ATTENDANCE_STATUSES,
    Appointment,
    AppointmentEvent,
    AppointmentStatus,
    MessageKind,
    Patient,
    Therapist,
    User,
)
from scheduler.scheduling import availability, busy, care_teams, roster
from scheduler.scheduling.limits import CANCEL_SCOPES, MAX_SESSION_MINUTES, MIN_SESSION_MINUTES
from scheduler.scheduling.therapists import weekly_rules

MIN_MINUTES, MAX_MINUTES = MIN_SESSION_MINUTES, MAX_SESSION_MINUTES
ACTIVE = ACTIVE_APPOINTMENT_STATUSES


def get(session: Session, appointment_id: int) -> Appointment:
    """The appointment, or 404."""
    appt = session.get(Appointment, appointment_id)
    if appt is None:
        raise NotFound("appointment not found")
    return appt


def find_active(session: Session, therapist_id: int, patient_id: int, start_dt: datetime) -> int | None:
    """The id of the active appointment of this therapist and patient starting then, if any."""
    return session.scalar(select(Appointment.id).where(
        Appointment.therapist_id == therapist_id, Appointment.patient_id == patient_id,
        Appointment.start_dt == start_dt, Appointment.status.in_(ACTIVE)))


def _duration(minutes: int) -> timedelta:
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not MIN_MINUTES <= minutes <= MAX_MINUTES:
        raise Invalid({"duration_minutes": f"must be a whole number from {MIN_MINUTES} to {MAX_MINUTES}"})
    return timedelta(minutes=minutes)


def _start(value: datetime, tz: str, now: datetime) -> datetime:
    """Aware UTC start; a naive value is the therapist's wall time. 422 if nonexistent or past."""
    try:
        start = timeutil.resolve(value, tz)
    except ValueError as exc:  # NonexistentTime: the wall time falls in a DST gap
        raise Invalid({"start": str(exc)}) from None
    if start <= now:
        raise Invalid({"start": "must be in the future"})
    return start


CLASHES = {"time_off": ("the therapist is unavailable then (time off)", "start"),
           "therapist": ("the therapist already has a session then", "therapist_id"),
           "patient": ("the patient already has a session then", "patient_id")}


def clash(session: Session, therapist: Therapist, patient_id: int, start: datetime, end: datetime,
          exclude: int | None = None) -> tuple[str, str] | None:
    """Why [start, end) cannot be booked (message, field): outside hours, time off, either side busy."""
    if not availability.is_available(weekly_rules(therapist), therapist.timezone, [], start, end):
        return "outside the therapist's working hours", "start"
    why = busy.clash(session, therapist.id, patient_id, start, end, exclude_appointment=exclude)
    return CLASHES[why] if why else None


def _check_free(session: Session, therapist: Therapist, patient_id: int, start: datetime,
                end: datetime, exclude: int | None = None) -> None:
    """409 naming why when [start, end) is outside hours, in time off, or either side is busy."""
    why = clash(session, therapist, patient_id, start, end, exclude)
    if why:
        # Another session with the therapist is a time taken (maybe just now): said as such.
        raise (Taken if why[1] == "therapist_id" else Conflict)(why[0], field=why[1])


def _event(appt: Appointment, now: datetime, user_id: int | None, note: str | None = None) -> None:
    appt.events.append(AppointmentEvent(at=now, status=appt.status, user_id=user_id, note=note,
                                        start_dt=appt.start_dt, end_dt=appt.end_dt))


def _lock_for_change(session: Session, appointment_id: int) -> tuple[Therapist, Appointment]:
    """Lock therapist, patient, then the appointment itself, and re-read its current state."""
    appt = get(session, appointment_id)
    therapist = lock(session, Therapist, appt.therapist_id, "therapist")
    lock(session, Patient, appt.patient_id, "patient")
    # populate_existing: another transaction may have changed it before we got the locks.
    appt = session.execute(select(Appointment).where(Appointment.id == appointment_id)
                           .with_for_update().execution_options(populate_existing=True)).scalar_one()
    return therapist, appt


def book(session: Session, therapist_id: int, patient_id: int, start: datetime, duration_minutes: int,
         now: datetime, user_id: int | None = None, *, settings: Settings) -> Appointment:
    """Book a session; `start` is aware, or naive wall time in the therapist's zone."""
    length = _duration(duration_minutes)
    therapist = lock(session, Therapist, therapist_id, "therapist_id", load="rules")
    patient = lock(session, Patient, patient_id, "patient_id")
    start = _start(start, therapist.timezone, now)
    end = start + length
    _check_free(session, therapist, patient.id, start, end)
    appt = write(session, therapist, patient, start, end, now, user_id)  # the care team joined there
    reminders.appointment_changed(session, appt, now, MessageKind.BOOKED, settings=settings)
    return appt


def write(session: Session, therapist: Therapist, patient: Patient, start: datetime, end: datetime,
           now: datetime, user_id: int | None, series_id: int | None = None) -> Appointment:
    """Write a checked booking, its event and the booker's care-team place (no texts): the caller
    holds the locks and checked it."""
    # Plain INSERTs, not a unit-of-work flush (the booking's largest cost in Python); on
    # PostgreSQL the appointment, its event and the care team (care_teams.booked_by) go in one
    # statement, a round trip each saved. The RETURNING gives the id that keys its texts;
    # PostgreSQL's exclusion constraint fires here.
    row = dict(therapist_id=therapist.id, patient_id=patient.id, start_dt=start, end_dt=end,
               status=AppointmentStatus.SCHEDULED, version=1, series_id=series_id, created_at=now, updated_at=now)
    event = dict(at=now, user_id=user_id, note="booked")
    if is_postgres(session):
        joins = care_teams.joins_on_booking(session, user_id)
        appt = session.scalars(_insert_statements()[1], {**row, **event, "joins": joins}).one()
    else:
        appt = session.scalars(_insert_statements()[0], [row]).one()
        session.connection().execute(_INSERT_EVENT, dict(appointment_id=appt.id, status=appt.status,
                                                         start_dt=start, end_dt=end, **event))
        care_teams.booked_by(session, user_id, patient.id, therapist.id, now)
    set_committed_value(appt, "therapist", therapist)  # known already: no lazy load, no change
    set_committed_value(appt, "patient", patient)
    return appt


_INSERT_EVENT = insert(AppointmentEvent.__table__)


@cache
def _insert_statements():
    """A new appointment RETURNING it; and for PostgreSQL, the same with its event and its
    care-team row (when the parameter `joins` is true) in a WITH."""
    table, events = Appointment.__table__, AppointmentEvent.__table__
    columns = ("therapist_id", "patient_id", "start_dt", "end_dt", "status", "version", "series_id", "created_at",
               "updated_at")
    new = insert(table).values({c: bindparam(c, type_=table.c[c].type) for c in columns})
    booked = new.returning(*table.c).cte("booked")
    event = insert(events).from_select(
        ["appointment_id", "at", "status", "user_id", "note", "start_dt", "end_dt"],
        select(booked.c.id, bindparam("at", type_=events.c.at.type), booked.c.status,
               bindparam("user_id", type_=events.c.user_id.type), bindparam("note", type_=events.c.note.type),
               booked.c.start_dt, booked.c.end_dt)).cte("booked_event")
    team = care_teams.joining_statement(booked).cte("booked_team")
    # A data-modifying WITH always runs to completion, read by the outer query or not.
    return insert(Appointment).returning(Appointment), select(aliased(Appointment, booked)).add_cte(event, team)


def reschedule(session: Session, appointment_id: int, now: datetime, start: datetime | None = None,
               duration_minutes: int | None = None, user_id: int | None = None, *,
               settings: Settings) -> Appointment:
    """Move an upcoming appointment; it is re-checked as a new booking, excluding itself."""
    if start is None and duration_minutes is None:
        raise Invalid({"start": "give start or duration_minutes"})
    length = _duration(duration_minutes) if duration_minutes is not None else None
    therapist, appt = _lock_for_change(session, appointment_id)
    if not appt.is_active:
        raise Conflict(f"a {appt.status} appointment cannot be rescheduled", field="status")
    if appt.start_dt <= now:
        raise Conflict("the appointment has already started", field="start")
    new_start = _start(start, therapist.timezone, now) if start is not None else appt.start_dt
    new_end = new_start + (length if length is not None else appt.end_dt - appt.start_dt)
    if (new_start, new_end) == (appt.start_dt, appt.end_dt):
        return appt  # nothing moved: no new version, no text
    _check_free(session, therapist, appt.patient_id, new_start, new_end, exclude=appt.id)
    moved = new_start != appt.start_dt
    appt.start_dt, appt.end_dt = new_start, new_end
    appt.updated_at = now
    if not moved:
        # Texts name only the start: a new length changes nothing the patient was told.
        _event(appt, now, user_id, "length changed")
        session.flush()
        return appt
    appt.version += 1
    appt.status = AppointmentStatus.SCHEDULED  # a confirmation was for the old time
    _event(appt, now, user_id, "rescheduled")
    session.flush()
    reminders.appointment_changed(session, appt, now, MessageKind.RESCHEDULED, settings=settings)
    roster.reoffer(session, appt.patient_id, now, settings=settings)  # the old time may have kept them off a group
    return appt


SCOPES = CANCEL_SCOPES  # this session, or this one and the later ones of its weekly series


def cancel(session: Session, appointment_id: int, now: datetime, reason: str | None = None,
           user_id: int | None = None, *, settings: Settings, scope: str = "one") -> Appointment:
    """Cancel an upcoming appointment (scope "later": with the later sessions of its weekly series):
    frees the time, withdraws reminders, texts the patient once."""
    if scope not in SCOPES:
        raise Invalid({"scope": f"must be one of: {', '.join(SCOPES)}"})
    _, appt = _lock_for_change(session, appointment_id)
    if not appt.is_active:
        raise Conflict(f"a {appt.status} appointment cannot be cancelled", field="status")
    if appt.start_dt <= now:
        # After the start it is an attendance question (no_show / late_cancelled), and a
        # "cancelled" text about a session already under way would only confuse.
        raise Conflict("the appointment has already started; record attendance instead", field="status")
    later = later_in_series(session, appt, lock=True) if scope == "later" else []
    for each in (appt, *later):
        each.status = AppointmentStatus.CANCELLED
        each.cancel_reason = reason
        each.updated_at = now
        _event(each, now, user_id, "cancelled with the later weekly sessions" if later else "cancelled")
    session.flush()
    if later:  # one text for the lot, not one per session
        weekly.cancelled(session, [appt, *later], now, settings=settings)
    else:
        reminders.appointment_changed(session, appt, now, MessageKind.CANCELLED, settings=settings)
    roster.reoffer(session, appt.patient_id, now, settings=settings)  # a seat this appointment kept them from
    return appt


def later_in_series(session: Session, appt: Appointment, lock: bool = False) -> list[Appointment]:
    """The later sessions of `appt`'s weekly series still on, in time order; `lock`: for a change
    (the caller holds the patient's lock, so none is added meanwhile)."""
    if appt.series_id is None:
        return []
    query = select(Appointment).where(
        Appointment.series_id == appt.series_id, Appointment.start_dt > appt.start_dt,
        Appointment.status.in_(ACTIVE)).order_by(Appointment.start_dt)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return list(session.scalars(query))


def record_attendance(session: Session, appointment_id: int, status: str, now: datetime,
                      user_id: int | None = None) -> Appointment:
    """Record attended / no_show / late_cancelled once the session has begun (corrections allowed)."""
    if status not in ATTENDANCE_STATUSES:
        raise Invalid({"status": f"must be one of: {', '.join(ATTENDANCE_STATUSES)}"})
    therapist, appt = _lock_for_change(session, appointment_id)
    if appt.status == AppointmentStatus.CANCELLED:
        raise Conflict("the appointment was cancelled", field="status")
    if appt.start_dt > now:
        raise Conflict("attendance can be recorded once the appointment has started", field="status")
    if appt.status == status:
        return appt
    # late_cancelled freed the time; taking it back must not double-book whoever took it since.
    if appt.status not in busy.HOLDING and status in busy.HOLDING and (
            busy.therapist_intervals(session, therapist.id, appt.start_dt, appt.end_dt, exclude_appointment=appt.id)
            or busy.patient_intervals(session, appt.patient_id, appt.start_dt, appt.end_dt,
                                      exclude_appointment=appt.id)):
        raise Conflict("that time has since been booked by another session", field="status")
    appt.status = status
    appt.updated_at = now
    _event(appt, now, user_id)
    session.flush()
    outreach.attendance_recorded(session, appt.patient_id, status, now, start_dt=appt.start_dt, end_dt=appt.end_dt,
                                 appointment_id=appt.id)
    return appt


def history(session: Session, appt: Appointment) -> list[tuple[AppointmentEvent, str | None]]:
    """Its events, oldest first, each with the staff user who made it (None: the patient or the system)."""
    ids = {e.user_id for e in appt.events if e.user_id is not None}
    who = dict(session.execute(select(User.id, User.email).where(User.id.in_(ids))).all()) if ids else {}
    return [(e, who.get(e.user_id)) for e in appt.events]


def confirm(session: Session, appointment: Appointment, now: datetime, user_id: int | None = None) -> bool:
    """The patient confirmed (e.g. replied C): scheduled -> confirmed. False when already confirmed."""
    if appointment.status == AppointmentStatus.CONFIRMED:
        return False
    if appointment.status != AppointmentStatus.SCHEDULED or appointment.start_dt <= now:
        raise Conflict(f"a {appointment.status} appointment cannot be confirmed", field="status")
    appointment.status = AppointmentStatus.CONFIRMED
    appointment.updated_at = now
    _event(appointment, now, user_id, "confirmed")
    session.flush()
    return True
