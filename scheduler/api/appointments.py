"""Appointment routes: book, read, reschedule, cancel, record attendance."""
from __future__ import annotations

from flask import g

from scheduler import schemas
from scheduler.api import audited, bp, endpoint, now, roles
from scheduler.core import access, settings
from scheduler.extensions import db
from scheduler.models import Appointment
from scheduler.models.enums import Role
from scheduler.scheduling import appointments, series


def _mine(appointment_id: int) -> Appointment:
    """The appointment, if the caller may act on it (a therapist: only their own; else 404 as if missing)."""
    appt = appointments.get(db.session, appointment_id)
    access.require_appointment(g.user, appt)
    return appt


@bp.post("/appointments")
@roles(Role.ADMIN, Role.COORDINATOR, Role.THERAPIST)
@endpoint(schemas.Booked, body=schemas.AppointmentCreate, status=201, conflict=True)
def book_appointment(body: schemas.AppointmentCreate):
    """Book an individual session, or with `repeat_weeks` that many weekly sessions, all or none.

    The patient gets one booking text (for a series: its first session, "weekly") and each
    session's reminders. A 409 for a series lists every clash in `clashes`; nothing is booked.
    """
    access.require_booking(db.session, g.user, body.therapist_id, body.patient_id)
    if body.repeat_weeks is None:
        appt = appointments.book(db.session, body.therapist_id, body.patient_id, body.start,
                                 body.duration_minutes, now(), g.user.id, settings=settings.current())
        return audited("create", "appointment", appt.id, appt, appt.therapist.timezone)
    booked = series.book_weekly(db.session, body.therapist_id, body.patient_id, body.start, body.duration_minutes,
                                body.repeat_weeks, now(), g.user.id, settings=settings.current())
    *rest, last = booked
    return audited("create", "appointment", last.id, {"appointments": booked}, last.therapist.timezone,
                   also=tuple(("create", "appointment", a.id) for a in rest))


@bp.get("/appointments/<int:appointment_id>")
@roles(Role.ADMIN, Role.COORDINATOR, Role.THERAPIST)
@endpoint(schemas.AppointmentWithHistory)
def get_appointment(appointment_id: int):
    """One appointment with its status history."""
    appt = _mine(appointment_id)
    return audited("read", "appointment", appt.id, appt, appt.therapist.timezone)


@bp.patch("/appointments/<int:appointment_id>")
@roles(Role.ADMIN, Role.COORDINATOR, Role.THERAPIST)
@endpoint(schemas.AppointmentWithHistory, body=schemas.AppointmentUpdate, conflict=True)
def reschedule_appointment(appointment_id: int, body: schemas.AppointmentUpdate):
    """Move an upcoming appointment; pending reminders follow the new time."""
    _mine(appointment_id)
    appt = appointments.reschedule(db.session, appointment_id, now(), body.start, body.duration_minutes,
                                   g.user.id, settings=settings.current())
    return audited("update", "appointment", appt.id, appt, appt.therapist.timezone)


@bp.post("/appointments/<int:appointment_id>/cancel")
@roles(Role.ADMIN, Role.COORDINATOR, Role.THERAPIST)
@endpoint(schemas.AppointmentWithHistory, body=schemas.CancelRequest, conflict=True, body_optional=True)
def cancel_appointment(appointment_id: int, body: schemas.CancelRequest):
    """Cancel: frees the time, withdraws reminders, sends one cancellation text. The body may be empty.

    `scope: "later"` also cancels the later sessions of its weekly series, with one text for them all.
    """
    _mine(appointment_id)
    appt = appointments.cancel(db.session, appointment_id, now(), body.reason, g.user.id, settings=settings.current(),
                               scope=body.scope)
    return audited("update", "appointment", appt.id, appt, appt.therapist.timezone)


@bp.post("/appointments/<int:appointment_id>/attendance")
@roles(Role.ADMIN, Role.COORDINATOR, Role.THERAPIST)
@endpoint(schemas.AppointmentWithHistory, body=schemas.AttendanceRequest, conflict=True)
def record_attendance(appointment_id: int, body: schemas.AttendanceRequest):
    """Record attended / no_show / late_cancelled once the session has begun."""
    _mine(appointment_id)
    appt = appointments.record_attendance(db.session, appointment_id, body.status, now(), g.user.id)
    return audited("update", "appointment", appt.id, appt, appt.therapist.timezone)
