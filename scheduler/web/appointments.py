"""Booking from a free slot (an htmx dialog, or a full page without JavaScript) and one appointment.

Patient names never travel in a URL: the live search and every form post their fields.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from flask import flash, render_template, request, url_for

from scheduler import schemas
from scheduler.aftercare import plans
from scheduler.core import access, audit, settings, timeutil
from scheduler.core.clock import now
from scheduler.errors import Clashes, Conflict
from scheduler.extensions import db
from scheduler.messaging import appointment_texts, notices, reminders
from scheduler.models import Appointment, Patient
from scheduler.scheduling import appointments, patients, series, therapists
from scheduler.scheduling.limits import MAX_REPEAT_WEEKS
from scheduler.web import bp, confirm, grid, is_htmx, roles, user
from scheduler.web.forms import FormState, parse_into, record_id, require_id
from scheduler.web.helpers import when
from scheduler.web.labels import ATTENDANCE_ACTIONS
from scheduler.web.posts import Done, go, submit

DEFAULT_MINUTES = 50
RESCHEDULE_DAYS = 14
# The domain names fields as the API does; the forms name them as a person reads them.
ALIASES = {"duration_minutes": "duration", "patient_id": "patient", "therapist_id": "start",
           "start": "start", "repeat_weeks": "weeks"}


def _query(text: str) -> str:
    """What was typed into Patient, as the search reads it (PostgreSQL text cannot hold a NUL)."""
    return text.replace("\x00", "").strip()[:100]


def _local_start(state: FormState, tz: str) -> datetime | None:
    raw = state.get("start")
    try:
        if "T" not in raw or len(raw) < 16:
            raise ValueError
        start = timeutil.parse_datetime_input(raw)
        # A repeated hour's slot carries its offset; the page shows its local wall time.
        return start.astimezone(timeutil.zone(tz)).replace(tzinfo=None) if start.tzinfo else start
    except ValueError:
        state.add("start", "must be a date and time such as 2026-03-04T11:00")
        return None


def _fragment_or_page(template: str, status: int = 200, **context):
    """The dialog's fragment for htmx (200, so htmx swaps it), else the whole page."""
    # The same URL answers a fragment or a page: caches must keep them apart.
    if is_htmx():
        return render_template(template, partial=True, **context), 200, {"Vary": "HX-Request"}
    return render_template(template, partial=False, **context), status, {"Vary": "HX-Request"}


def _weeks_left(patient: Patient, start: datetime | None) -> int | None:
    """Weekly sessions from `start` to the end of the patient's active plan, at most 26 (None: no plan)."""
    if start is None:
        return None
    left = plans.weekly_sessions_left(patient, start.date(), now())
    return min(left, MAX_REPEAT_WEEKS) if left else None


def _booking(state: FormState, status: int = 200, clashes: list[dict] | None = None):
    therapist = therapists.get(db.session, require_id(state.get("therapist"), "therapist"))
    start = _local_start(state, therapist.timezone)
    results = []
    picked = record_id(state.get("patient_id"))
    if picked is not None:  # keep the person chosen, when the user may see them
        chosen = patients.by_ids(db.session, [picked]).get(picked)
        if chosen is not None and access.may_see_patient(db.session, user(), chosen.id):
            results = [chosen]
            state.data["q"] = state.get("q") or chosen.name
            if not state.get("weeks"):  # Weeks starts as the weeks left in their plan
                state.data["weeks"] = str(_weeks_left(chosen, start) or "")
    elif _query(state.get("q")):
        results = patients.search(db.session, _query(state.get("q")), access.visible_patients(user()))
    shown = [(c["week"], datetime.fromisoformat(c["start"]), c["error"]) for c in clashes or ()]
    return _fragment_or_page("appointments/book.html", status, form=state, therapist=therapist,
                             start=start, results=results, clashes=shown, max_weeks=MAX_REPEAT_WEEKS)


def _check_therapist(state: FormState) -> int:
    therapist_id = require_id(state.get("therapist"), "therapist")
    access.require_therapist(user(), therapist_id)
    return therapist_id


@bp.get("/appointments/new")
@roles(*access.EVERYONE)
def new_appointment():
    """The booking form for a free slot (`?therapist=ID&start=local time`)."""
    state = FormState(request.args)
    _check_therapist(state)
    state.data.setdefault("duration", str(DEFAULT_MINUTES))
    return _booking(state)


@bp.post("/appointments/patients")
@roles(*access.EVERYONE)
def patient_search():
    """Live search for the Patient field: by name or phone, only patients the user may see."""
    found = patients.search(db.session, _query(request.form.get("q", "")), access.visible_patients(user()))
    return render_template("appointments/_patients.html", results=found, picked=None)


def _pick_patient(state: FormState) -> int | None:
    """The chosen patient id, or the one match for what was typed; else a message beside Patient."""
    raw = state.get("patient_id").strip()
    if raw:
        if record_id(raw) is None:
            state.add("patient", "matches nobody you may book")
        return record_id(raw)
    query = _query(state.get("q"))
    if not query:
        state.add("patient", "is required: type a name or phone number and choose the person")
        return None
    found = patients.search(db.session, query, access.visible_patients(user()), limit=2)
    if len(found) == 1:
        return found[0].id
    state.add("patient", "matches nobody you may book" if not found else "matches several people: choose one")
    return None


def _repeat_weeks(state: FormState, patient_id: int | None, start: str) -> str:
    """Weeks as typed; left empty, the weeks left in the patient's plan (the form's default)."""
    if state.get("weeks").strip() or patient_id is None:
        return state.get("weeks").strip() or "1"
    chosen = patients.by_ids(db.session, [patient_id]).get(patient_id)
    try:
        left = _weeks_left(chosen, timeutil.parse_datetime_input(start)) if chosen else None
    except ValueError:
        left = None
    if left is None:
        state.add("weeks", "is required: this patient has no active aftercare plan to count the weeks from")
    return str(left or "")


@bp.post("/appointments")
@roles(*access.EVERYONE)
def book():
    """Book the slot (Repeat weekly: that many weeks, all or none); a second submit of the same
    form finds the booking already made."""
    state = FormState(request.form, ALIASES)
    therapist_id = _check_therapist(state)
    therapist = therapists.get(db.session, therapist_id)
    patient_id = _pick_patient(state)
    repeat = state.get("repeat") == "on"
    fields = {"therapist_id": str(therapist_id), "patient_id": str(patient_id or ""),
              "start": state.get("start"), "duration_minutes": state.get("duration")}
    if repeat:
        fields["repeat_weeks"] = _repeat_weeks(state, patient_id, state.get("start"))
    body = parse_into(state, schemas.AppointmentCreate, fields)
    clashes: list[dict] = []

    def act(clock):
        if not access.may_see_patient(db.session, user(), body.patient_id):
            raise Conflict("is not a patient in your care", field="patient")
        start = body.start
        if body.repeat_weeks is None:
            appt = appointments.book(db.session, therapist_id, body.patient_id, start, body.duration_minutes,
                                     clock, user().id, settings=settings.current())
            return Done(url_for("web.calendar", therapist=therapist_id, week=start.date().isoformat()),
                        ("create", "appointment", appt.id),
                        flash=f"Booked {appt.patient.name}, {grid.day_label(start.date())} at {grid.clock(start)}.")
        try:
            booked = series.book_weekly(db.session, therapist_id, body.patient_id, start, body.duration_minutes,
                                        body.repeat_weeks, clock, user().id, settings=settings.current())
        except Clashes as exc:
            clashes.extend(exc.clashes)
            raise
        *rest, last = booked
        zone = timeutil.zone(therapist.timezone)
        first, final = (a.start_dt.astimezone(zone) for a in (booked[0], last))
        sessions = f"{len(booked)} weekly sessions" if len(booked) > 1 else "1 session"
        return Done(url_for("web.calendar", therapist=therapist_id, week=start.date().isoformat()),
                    ("create", "appointment", last.id), also=tuple(("create", "appointment", a.id) for a in rest),
                    flash=f"Booked {last.patient.name}: {sessions} at {grid.clock(first)}, "
                          f"{grid.day_label(first.date())} to {grid.day_label(final.date())}.")

    def refused(state, status):
        same = _already_booked(therapist_id, body.patient_id, body.start, therapist.timezone) if body else None
        if status == 409 and same is not None:  # a double submit: the first made it
            flash("This appointment was already booked.")
            return go(url_for("web.appointment", appointment_id=same))
        return _booking(state, status, clashes)
    return submit(state, act, refused, missing=("patient", "matches nobody you may book"))


def _already_booked(therapist_id: int, patient_id: int | None, start: datetime | None, tz: str) -> int | None:
    """The active appointment this very form would have made (a double submit), if any."""
    if patient_id is None or start is None:
        return None
    try:
        at = timeutil.resolve(start, tz)
    except ValueError:
        return None
    return appointments.find_active(db.session, therapist_id, patient_id, at)


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
    reminded = reminders.reminded(db.session, [appt.id])
    patient: Patient = appt.patient
    started = appt.start_dt <= now()
    html = render_template(
        "appointments/show.html", appt=appt, start=start, end=end, patient=patient,
        text_status=grid.text_status(appt, patient, reminded), started=started,
        texts=appointment_texts.for_appointment(db.session, appt.id),
        history=appointments.history(db.session, appt), when=lambda at: when(at, tz),
        attendance_actions=ATTENDANCE_ACTIONS,
        new_times=_new_times(appt) if appt.is_active and not started else [],
        form=state or FormState(), may_see_patient=access.may_see_patient(db.session, user(), patient.id),
        later_sessions=len(appointments.later_in_series(db.session, appt)) if appt.is_active and not started else 0)
    audit.commit(db.session, "read", "appointment", appt.id, now())
    return html, status


@bp.get("/appointments/<id:appointment_id>")
@roles(*access.EVERYONE)
def appointment(appointment_id: int):
    """Its time, patient and text status; reschedule, cancel, attendance."""
    return _show(_mine(appointment_id))


def _change(appointment_id: int, state: FormState, action, done, question=None):
    """Run one domain change (`action(now)`); a refusal is shown beside its field on the appointment page.

    `done(appt, now)` words the flash. With `question(appt, now)`, a post not yet confirmed only
    asks it (web/confirm.py): the change is made, described and rolled back.
    """
    _mine(appointment_id)
    preview = question is not None and not confirm.confirmed()

    def act(clock):
        try:
            appt = action(clock)
        except Conflict as exc:
            if exc.field == "status":  # the state changed: no field to fix, a message
                raise Conflict(exc.message) from None
            raise
        if preview:
            asked = question(appt, clock)
            return Done("", ("update", "appointment", appt.id), answer=lambda: confirm.ask(asked))
        return Done(url_for("web.appointment", appointment_id=appointment_id), ("update", "appointment", appt.id),
                    flash=done(appt, clock))

    def page(state, status):
        return _show(_mine(appointment_id), state, status)
    return submit(state, act, confirm.refused(page, {"reason": "Reason"}) if preview else page, preview=preview)


@bp.post("/appointments/<id:appointment_id>/reschedule")
@roles(*access.EVERYONE)
def reschedule(appointment_id: int):
    """Move to the free time picked."""
    state = FormState(request.form, dict.fromkeys(("start", "duration_minutes", "therapist_id", "patient_id", "status"), "new_start"))
    if not state.get("new_start"):
        state.add("new_start", "is required: choose a free time")
    body = parse_into(state, schemas.AppointmentUpdate, {"start": state.get("new_start")})
    return _change(appointment_id, state,
                   lambda clock: appointments.reschedule(db.session, appointment_id, clock, body.start, None,
                                                         user().id, settings=settings.current()),
                   lambda appt, clock: f"Moved to {grid.day_label(body.start.date())} at {grid.clock(body.start)}.")


@bp.post("/appointments/<id:appointment_id>/cancel")
@roles(*access.EVERYONE)
def cancel(appointment_id: int):
    """Cancel with a reason, once confirmed: the time is freed and the patient gets one text."""
    state = FormState(request.form, {"status": "reason"})
    body = parse_into(state, schemas.CancelRequest, {"reason": state.get("reason").strip(),
                                                     "scope": state.get("scope") or "one"})
    later = body is not None and body.scope == "later"
    return _change(appointment_id, state,
                   lambda clock: appointments.cancel(db.session, appointment_id, clock, body.reason, user().id,
                                                     settings=settings.current(), scope=body.scope),
                   lambda appt, clock: " ".join((
                       "This and the later weekly sessions are cancelled." if later
                       else "The appointment is cancelled.", *_told(appt, clock))),
                   question=lambda appt, clock: _cancel_question(appt, clock, later))


def _told(appt: Appointment, clock: datetime) -> list[str]:
    """Who the cancellation texts (the patient, anyone it seats from a waitlist), or that nobody is."""
    written = notices.written(db.session, clock)
    lines = confirm.texts(written, user(), clock, shown={appt.patient_id})
    if not any(n.patient.id == appt.patient_id for n in written):
        lines.insert(0, f"{appt.patient.name} is not texted: no text about this session had gone out yet.")
    return lines


def _cancel_question(appt: Appointment, clock: datetime, later: bool) -> confirm.Ask:
    therapist = appt.therapist
    which = ("session and the later weekly ones" if later else "session")
    lines = [f"{appt.patient.name}'s {which} with {therapist.name} from {when(appt.start_dt, therapist.timezone)} "
             f"({therapist.timezone}) are cancelled, their time freed and their reminders withdrawn." if later else
             f"{appt.patient.name}'s session with {therapist.name} on {when(appt.start_dt, therapist.timezone)} "
             f"({therapist.timezone}) is cancelled, its time freed and its reminders withdrawn.",
             *_told(appt, clock)]
    if appt.cancel_reason:
        lines.append("The reason is kept with the appointment; the text does not include it.")
    return confirm.Ask("Cancel this appointment?", tuple(lines), "Yes, cancel appointment", "Keep the appointment",
                       url_for("web.appointment", appointment_id=appt.id))


@bp.post("/appointments/<id:appointment_id>/attendance")
@roles(*access.EVERYONE)
def attendance(appointment_id: int):
    """Attended / No-show / Late cancel, once the session has begun."""
    state = FormState(request.form, {"status": "attendance"})
    body = parse_into(state, schemas.AttendanceRequest, {"status": state.get("status")})
    return _change(appointment_id, state, lambda clock: appointments.record_attendance(
        db.session, appointment_id, body.status, clock, user().id),
        lambda appt, clock: f"Recorded: {ATTENDANCE_ACTIONS[body.status]}.")
