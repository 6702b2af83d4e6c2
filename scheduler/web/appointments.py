"""Booking from a free slot (an htmx dialog, or a full page without JavaScript) and one appointment.

Patient names never travel in a URL: the live search and every form post their fields.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from flask import flash, make_response, redirect, render_template, request, url_for
from sqlalchemy import select

from scheduler import schemas
from scheduler.core import access, audit, settings, timeutil
from scheduler.core.clock import now
from scheduler.errors import Conflict, DomainError, NotFound
from scheduler.extensions import db
from scheduler.models import Appointment, Message, Patient
from scheduler.scheduling import appointments, patients, therapists
from scheduler.schemas.common import MAX_ID
from scheduler.web import bp, grid, is_htmx, roles, user
from scheduler.web.forms import FormState, parse_into

DEFAULT_MINUTES = 50
RESCHEDULE_DAYS = 14
# The domain names fields as the API does; the forms name them as a person reads them.
ALIASES = {"duration_minutes": "duration", "patient_id": "patient", "therapist_id": "start",
           "start": "start"}


def _query(text: str) -> str:
    """What was typed into Patient, as the search reads it (PostgreSQL text cannot hold a NUL)."""
    return text.replace("\x00", "").strip()[:100]


def _patient_id(raw: str) -> int | None:
    """A patient id from a form field, if it is one the database could hold."""
    return int(raw) if raw.isdigit() and 0 < int(raw) <= MAX_ID else None


def _local_start(state: FormState, tz: str) -> datetime | None:
    raw = state.get("start")
    try:
        return datetime.strptime(raw, "%Y-%m-%dT%H:%M")
    except ValueError:
        state.add("start", "must be a date and time such as 2026-03-04T11:00")
        return None


def _fragment_or_page(template: str, status: int = 200, **context):
    """The dialog's fragment for htmx (200, so htmx swaps it), else the whole page."""
    # The same URL answers a fragment or a page: caches must keep them apart.
    if is_htmx():
        return render_template(template, partial=True, **context), 200, {"Vary": "HX-Request"}
    return render_template(template, partial=False, **context), status, {"Vary": "HX-Request"}


def _booking(state: FormState, status: int = 200):
    therapist = therapists.get(db.session, int(state.get("therapist")))
    start = _local_start(state, therapist.timezone)
    results = []
    picked = _patient_id(state.get("patient_id"))
    if picked is not None:  # keep the person chosen, when the user may see them
        chosen = db.session.get(Patient, picked)
        if chosen is not None and access.may_see_patient(db.session, user(), chosen.id):
            results = [chosen]
            state.data["q"] = state.get("q") or chosen.name
    elif _query(state.get("q")):
        results = patients.search(db.session, _query(state.get("q")), access.visible_patients(user()))
    return _fragment_or_page("appointments/book.html", status, form=state, therapist=therapist,
                             start=start, results=results)


def _check_therapist(state: FormState) -> int:
    raw = state.get("therapist")
    if not raw.isdigit():
        raise NotFound("therapist not found")
    access.require_therapist(user(), int(raw))
    return int(raw)


@bp.get("/appointments/new")
@roles("admin", "coordinator", "therapist")
def new_appointment():
    """The booking form for a free slot (`?therapist=ID&start=local time`)."""
    state = FormState(request.args)
    _check_therapist(state)
    state.data.setdefault("duration", str(DEFAULT_MINUTES))
    return _booking(state)


@bp.post("/appointments/patients")
@roles("admin", "coordinator", "therapist")
def patient_search():
    """Live search for the Patient field: by name or phone, only patients the user may see."""
    found = patients.search(db.session, _query(request.form.get("q", "")), access.visible_patients(user()))
    return render_template("appointments/_patients.html", results=found, picked=None)


def _pick_patient(state: FormState) -> int | None:
    """The chosen patient id, or the one match for what was typed; else a message beside Patient."""
    raw = state.get("patient_id")
    if raw.isdigit():
        return int(raw)  # the schema refuses one out of range
    query = _query(state.get("q"))
    if not query:
        state.add("patient", "is required: type a name or phone number and choose the person")
        return None
    found = patients.search(db.session, query, access.visible_patients(user()), limit=2)
    if len(found) == 1:
        return found[0].id
    state.add("patient", "matches nobody you may book" if not found else "matches several people: choose one")
    return None


@bp.post("/appointments")
@roles("admin", "coordinator", "therapist")
def book():
    """Book the slot; a second submit of the same form finds the booking already made."""
    state = FormState(request.form, ALIASES)
    therapist_id = _check_therapist(state)
    therapist = therapists.get(db.session, therapist_id)
    patient_id = _pick_patient(state)
    body = parse_into(state, schemas.AppointmentCreate, {
        "therapist_id": str(therapist_id), "patient_id": str(patient_id or ""),
        "start": state.get("start"), "duration_minutes": state.get("duration")})
    if body is None or not state.ok:
        return _booking(state, 422)
    start = body.start
    try:
        if not access.may_see_patient(db.session, user(), body.patient_id):
            raise Conflict("is not a patient in your care", field="patient")
        appt = appointments.book(db.session, therapist_id, body.patient_id, start, body.duration_minutes,
                                 now(), user().id, settings=settings.current())
    except DomainError as exc:
        db.session.rollback()
        same = _already_booked(therapist_id, body.patient_id, start, therapist.timezone)
        if isinstance(exc, Conflict) and same is not None:
            flash("This appointment was already booked.")
            return _go(url_for("web.appointment", appointment_id=same))
        state.fail(exc)
        return _booking(state, 409 if isinstance(exc, Conflict) else 422)
    where = url_for("web.calendar", therapist=therapist_id, week=start.date().isoformat())
    message = f"Booked {appt.patient.name}, {grid.day_label(start.date())} at {grid.clock(start)}."
    audit.commit(db.session, "create", "appointment", appt.id, now())
    flash(message)
    return _go(where)


def _already_booked(therapist_id: int, patient_id: int | None, start: datetime | None, tz: str) -> int | None:
    """The active appointment this very form would have made (a double submit), if any."""
    if patient_id is None or start is None:
        return None
    try:
        at = timeutil.resolve(start, tz)
    except ValueError:
        return None
    return db.session.scalar(select(Appointment.id).where(
        Appointment.therapist_id == therapist_id, Appointment.patient_id == patient_id,
        Appointment.start_dt == at, Appointment.status.in_(appointments.ACTIVE)))


def _go(where: str):
    """Redirect; htmx follows HX-Redirect with a full page load (the dialog closes)."""
    if is_htmx():
        response = make_response("", 200)
        response.headers["HX-Redirect"] = where
        return response
    return redirect(where)


# --- one appointment ----------------------------------------------------------------------

def _mine(appointment_id: int) -> Appointment:
    """The appointment (404), if the user may act on it (a therapist: only their own, 403)."""
    appt = appointments.get(db.session, appointment_id)
    access.require_appointment(user(), appt)
    return appt


def _new_times(appt: Appointment) -> list[tuple[str, list[tuple[str, str]]]]:
    """Free starts for this appointment's length over the next two weeks, grouped by local day."""
    therapist = appt.therapist
    start = max(now(), appt.start_dt - timedelta(days=1))
    length = appt.end_dt - appt.start_dt
    zone = timeutil.zone(therapist.timezone)
    days: dict[str, list[tuple[str, str]]] = {}
    for s, _ in therapists.slots(db.session, therapist, start, start + timedelta(days=RESCHEDULE_DAYS),
                                 length, now()):
        local = s.astimezone(zone).replace(tzinfo=None)
        if local.minute % 30 == 0:
            days.setdefault(grid.day_label(local.date()), []).append(
                (local.strftime("%Y-%m-%dT%H:%M"), grid.clock(local)))
    return list(days.items())


def _show(appt: Appointment, state: FormState | None = None, status: int = 200):
    tz = appt.therapist.timezone
    zone = timeutil.zone(tz)
    start, end = appt.start_dt.astimezone(zone), appt.end_dt.astimezone(zone)
    reminded = set(db.session.scalars(select(Message.appointment_id).where(
        Message.appointment_id == appt.id, Message.kind == "reminder", Message.status.in_(grid.REMINDED))))
    patient: Patient = appt.patient
    started = appt.start_dt <= now()
    html = render_template(
        "appointments/show.html", appt=appt, start=start, end=end, patient=patient,
        text_status=grid.text_status(appt, patient, reminded), started=started,
        new_times=_new_times(appt) if appt.is_active and not started else [],
        form=state or FormState(), may_see_patient=access.may_see_patient(db.session, user(), patient.id))
    audit.commit(db.session, "read", "appointment", appt.id, now())
    return html, status


@bp.get("/appointments/<int:appointment_id>")
@roles("admin", "coordinator", "therapist")
def appointment(appointment_id: int):
    """Its time, patient and text status; reschedule, cancel, attendance."""
    return _show(_mine(appointment_id))


def _change(appointment_id: int, state: FormState, action, done: str):
    """Run one domain change; a refusal is shown beside its field on the appointment page."""
    _mine(appointment_id)
    try:
        appt = action()
    except DomainError as exc:
        db.session.rollback()
        if isinstance(exc, Conflict) and exc.field == "status":
            state.message = exc.message  # the state changed: no field to fix
        else:
            state.fail(exc)
        return _show(_mine(appointment_id), state, 409 if isinstance(exc, Conflict) else 422)
    audit.commit(db.session, "update", "appointment", appt.id, now())
    flash(done)
    return redirect(url_for("web.appointment", appointment_id=appointment_id))


@bp.post("/appointments/<int:appointment_id>/reschedule")
@roles("admin", "coordinator", "therapist")
def reschedule(appointment_id: int):
    """Move to the free time picked."""
    state = FormState(request.form, dict.fromkeys(("start", "duration_minutes", "therapist_id", "patient_id", "status"), "new_start"))
    appt = _mine(appointment_id)
    if not state.get("new_start"):
        state.add("new_start", "is required: choose a free time")
    body = parse_into(state, schemas.AppointmentUpdate, {"start": state.get("new_start")})
    if body is None or not state.ok:
        return _show(appt, state, 422)
    start = body.start
    return _change(appointment_id, state,
                   lambda: appointments.reschedule(db.session, appointment_id, now(), start, None, user().id,
                                                  settings=settings.current()),
                   f"Moved to {grid.day_label(start.date())} at {grid.clock(start)}.")


@bp.post("/appointments/<int:appointment_id>/cancel")
@roles("admin", "coordinator", "therapist")
def cancel(appointment_id: int):
    """Cancel with a reason: the time is freed and the patient gets one text."""
    state = FormState(request.form, {"status": "reason"})
    appt = _mine(appointment_id)
    body = parse_into(state, schemas.CancelRequest, {"reason": state.get("reason").strip()})
    if body is None:
        return _show(appt, state, 422)
    return _change(appointment_id, state,
                   lambda: appointments.cancel(db.session, appointment_id, now(), body.reason, user().id,
                                              settings=settings.current()),
                   "The appointment is cancelled; the patient will get one text.")


ATTENDANCE = {"attended": "Attended", "no_show": "No-show", "late_cancelled": "Late cancel"}


@bp.post("/appointments/<int:appointment_id>/attendance")
@roles("admin", "coordinator", "therapist")
def attendance(appointment_id: int):
    """Attended / No-show / Late cancel, once the session has begun."""
    state = FormState(request.form, {"status": "attendance"})
    body = parse_into(state, schemas.AttendanceRequest, {"status": state.get("status")})
    if body is None:
        return _show(_mine(appointment_id), state, 422)
    status = body.status
    return _change(appointment_id, state, lambda: appointments.record_attendance(
        db.session, appointment_id, status, now(), user().id), f"Recorded: {ATTENDANCE[status]}.")
