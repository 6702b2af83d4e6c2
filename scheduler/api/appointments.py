"""Appointment routes: book, read, reschedule, cancel, record attendance."""
from __future__ import annotations

from flask import g, request

from scheduler.api import audited, bp, now, roles
from scheduler.api.validate import Form, datetime_input, integer, json_body, one_of, text
from scheduler.core import access, timeutil
from scheduler.extensions import db
from scheduler.models import ATTENDANCE_STATUSES, Appointment
from scheduler.scheduling import appointments

DURATION = integer(appointments.MIN_MINUTES, appointments.MAX_MINUTES)


def appointment_json(a: Appointment, history: bool = False) -> dict:
    """An appointment with its times in the therapist's zone."""
    tz = a.therapist.timezone
    body = {
        "id": a.id, "status": a.status, "start": timeutil.iso(a.start_dt, tz),
        "end": timeutil.iso(a.end_dt, tz), "therapist_id": a.therapist_id, "patient_id": a.patient_id,
        "duration_minutes": int((a.end_dt - a.start_dt).total_seconds() // 60),
        "cancel_reason": a.cancel_reason, "version": a.version,
    }
    if history:
        body["history"] = [{
            "at": timeutil.iso(e.at, tz), "status": e.status, "user_id": e.user_id, "note": e.note,
            "start": timeutil.iso(e.start_dt, tz), "end": timeutil.iso(e.end_dt, tz),
        } for e in a.events]
    return body


def _mine(appointment_id: int) -> Appointment:
    """The appointment, if the caller may act on it (a therapist: only their own; else 404 as if missing)."""
    appt = appointments.get(db.session, appointment_id)
    access.require_appointment(g.user, appt)
    return appt


@bp.post("/appointments")
@roles("admin", "coordinator", "therapist")
def book_appointment():
    """Book an individual session; the patient gets one booking text and reminders."""
    form = Form(json_body(), ("therapist_id", "patient_id", "start", "duration_minutes"))
    therapist_id = form.get("therapist_id", integer(1))
    patient_id = form.get("patient_id", integer(1))
    start = form.get("start", datetime_input)
    minutes = form.get("duration_minutes", DURATION)
    form.check()
    access.require_booking(db.session, g.user, therapist_id, patient_id)
    appt = appointments.book(db.session, therapist_id, patient_id, start, minutes, now(), g.user.id)
    return audited("create", "appointment", appt.id, appointment_json(appt), 201)


@bp.get("/appointments/<int:appointment_id>")
@roles("admin", "coordinator", "therapist")
def get_appointment(appointment_id: int):
    """One appointment with its status history."""
    appt = _mine(appointment_id)
    return audited("read", "appointment", appt.id, appointment_json(appt, history=True))


@bp.patch("/appointments/<int:appointment_id>")
@roles("admin", "coordinator", "therapist")
def reschedule_appointment(appointment_id: int):
    """Move an upcoming appointment; pending reminders follow the new time."""
    form = Form(json_body(), ("start", "duration_minutes"))
    start = form.get("start", datetime_input, required=False)
    minutes = form.get("duration_minutes", DURATION, required=False)
    form.check()
    _mine(appointment_id)
    appt = appointments.reschedule(db.session, appointment_id, now(), start, minutes, g.user.id)
    return audited("update", "appointment", appt.id, appointment_json(appt, history=True))


@bp.post("/appointments/<int:appointment_id>/cancel")
@roles("admin", "coordinator", "therapist")
def cancel_appointment(appointment_id: int):
    """Cancel: frees the time, withdraws reminders, sends one cancellation text."""
    # The reason is optional, so an empty body is fine; malformed JSON is still a 400.
    form = Form(json_body() if request.get_data() else {}, ("reason",))
    reason = form.get("reason", text(500), required=False)
    form.check()
    _mine(appointment_id)
    appt = appointments.cancel(db.session, appointment_id, now(), reason, g.user.id)
    return audited("update", "appointment", appt.id, appointment_json(appt, history=True))


@bp.post("/appointments/<int:appointment_id>/attendance")
@roles("admin", "coordinator", "therapist")
def record_attendance(appointment_id: int):
    """Record attended / no_show / late_cancelled once the session has begun."""
    form = Form(json_body(), ("status",))
    status = form.get("status", one_of(*ATTENDANCE_STATUSES))
    form.check()
    _mine(appointment_id)
    appt = appointments.record_attendance(db.session, appointment_id, status, now(), g.user.id)
    return audited("update", "appointment", appt.id, appointment_json(appt, history=True))
