"""A patient's Aftercare: each discharge's plan and progress, record/edit/end, and the first session.

The section on the patient's page (`section()`) shows every discharge with its progress in words
and its follow-up state; while an active plan has nothing booked on days 1-7 it offers the
earliest free slots and group seats (aftercare.first_sessions, care team first; a therapist
gets only their own), each booked by one press through the ordinary booking and enrollment.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from flask import render_template, request, url_for

from scheduler import schemas
from scheduler.aftercare import first_sessions, plans, progress
from scheduler.core import access, settings, timeutil
from scheduler.core.clock import now
from scheduler.errors import Conflict
from scheduler.extensions import db
from scheduler.models import Discharge, Patient
from scheduler.models.enums import PlanEndReason
from scheduler.scheduling import appointments, patients, roster, therapists
from scheduler.web import bp, roles, user
from scheduler.web.forms import FormState, parse_into, require_id
from scheduler.web.grid import clock as clock_label
from scheduler.web.grid import day_label
from scheduler.web.labels import choices
from scheduler.web.posts import Done, not_done, submit

FIRST_WEEK, LATER, SESSION_MINUTES = 7, 21, 50
ALIASES = {"date": "discharge_date", "body": ""}
PLAN_FIELDS = ("plan_days", "individual_per_week", "groups_per_week")


def _patient(patient_id: int) -> Patient:
    """The patient, if this user may see them (the same 404 whether or not they exist)."""
    access.require_patient(db.session, user(), patient_id)
    return patients.get_patient(db.session, patient_id)


def _discharge(patient_id: int, discharge_id: int) -> Discharge:
    """The patient's discharge, or the 404 page (another patient's discharge is not found here)."""
    _patient(patient_id)
    discharge = plans.get(db.session, discharge_id)
    if discharge.patient_id != patient_id:
        raise access.Refused("discharge not found", entity="discharge", entity_id=discharge_id)
    return discharge


def _progress_words(state: dict) -> str:
    """"4 of 6 planned sessions attended, last 3 days ago" (and the missed ones, if any)."""
    words = f"{state['attended']} of {state['planned']} planned sessions attended"
    if state["last_attended"] is not None:
        ago = state["days_since_last"]
        words += ", last " + ("today" if ago == 0 else "yesterday" if ago == 1 else f"{ago} days ago")
    if state["missed"]:
        words += f"; {state['missed']} missed"
    return words


def _booked_first_week(rows: list, discharge: Discharge, tz: str) -> bool:
    first, last = discharge.discharge_date + timedelta(days=1), discharge.discharge_date + timedelta(days=FIRST_WEEK)
    return any(v.status in progress.BOOKED and first <= timeutil.local_date_of(v.start_dt, tz) <= last
               for v in rows)


def _offers(patient: Patient, discharge: Discharge, clock: datetime) -> dict:
    """The first-session offers: slots and seats within 7 days, else the next ones, flagged late."""
    found = first_sessions.find(db.session, discharge, clock, within_days=FIRST_WEEK,
                                duration_minutes=SESSION_MINUTES, user=user())
    late = not found["slots"]
    if late:
        found = first_sessions.find(db.session, discharge, clock, within_days=LATER,
                                    duration_minutes=SESSION_MINUTES, user=user())
    names = dict(therapists.names(db.session))
    slots = []
    for s in found["slots"]:
        start = datetime.fromisoformat(s["start"])
        name = names.get(s["therapist_id"], "")
        slots.append({"therapist_id": s["therapist_id"], "start": s["start"],
                      "label": f"Book first session with {name}, {day_label(start.date())}, {clock_label(start)}"})
    groups = [{**g, "when": f"{day_label(datetime.fromisoformat(g['start']).date())}, "
                            f"{clock_label(datetime.fromisoformat(g['start']))}"} for g in found["groups"]]
    return {"late": late, "slots": slots, "groups": groups}


def section(patient: Patient, clock: datetime) -> list[dict]:
    """Each discharge of the patient, newest first, with its progress and first-session offers."""
    rows = plans.of_patient(db.session, patient.id)
    states = progress.of_patient(db.session, patient, rows, clock)
    since = progress.day_start(min((d.discharge_date for d in rows), default=clock.date()), patient.timezone)
    seen = progress.visits(db.session, [patient.id], since).get(patient.id, [])
    out = []
    for d in rows:
        state = states[d.id]
        offer = None
        # Offered while a first session can still be found (the late search ends on day 21).
        if (state["active"] and plans.today_of(patient, clock) <= d.discharge_date + timedelta(days=LATER)
                and not _booked_first_week(seen, d, patient.timezone)):
            offer = _offers(patient, d, clock)
        out.append({"discharge": d, "state": state, "words": _progress_words(state), "first": offer})
    return out


# --- record, edit, end ----------------------------------------------------------------------


def _plan_form(state: FormState, patient: Patient, discharge: Discharge | None = None, status: int = 200):
    return render_template("aftercare/discharge_form.html", form=state, patient=patient, discharge=discharge,
                           reasons=choices(PlanEndReason)), status


def _plan_input(state: FormState, model) -> dict:
    """The form read by the API's schema; editing, an empty field keeps its value."""
    data = {"date": state.get("discharge_date").strip(),
            **{name: state.get(name).strip() for name in PLAN_FIELDS}}
    if model is schemas.DischargeUpdate:
        data = {k: v for k, v in data.items() if v}
        if not data:
            state.add("discharge_date", "is required")
            return {}
    body = parse_into(state, model, data)
    if body is None:
        return {}
    return dict(body) if model is schemas.DischargeCreate else {n: getattr(body, n) for n in body.model_fields_set}


@bp.get("/patients/<id:patient_id>/discharges/new")
@roles(*access.STAFF)
def discharge_new(patient_id: int):
    patient = _patient(patient_id)
    return _plan_form(FormState({"discharge_date": plans.today_of(patient, now()).isoformat(), "plan_days": "90",
                                 "individual_per_week": "1", "groups_per_week": "1"}), patient)[0]


@bp.post("/patients/<id:patient_id>/discharges/new")
@roles(*access.STAFF)
def discharge_record(patient_id: int):
    """Record a discharge and its plan (the same date again changes nothing)."""
    patient = _patient(patient_id)
    state = FormState(request.form, ALIASES)
    values = _plan_input(state, schemas.DischargeCreate)

    def act(clock):
        discharge, created = plans.record(db.session, patient_id, values["date"], clock,
                                          **{k: values[k] for k in PLAN_FIELDS}, field="date")
        return Done(_aftercare(patient_id),
                    ("create" if created else "read", "discharge", discharge.id),
                    flash="Discharge recorded." if created else "That discharge was already recorded.")
    return submit(state, act, lambda state, status: _plan_form(state, patient, status=status))


@bp.get("/patients/<id:patient_id>/discharges/<id:discharge_id>/edit")
@roles(*access.STAFF)
def discharge_edit(patient_id: int, discharge_id: int):
    d = _discharge(patient_id, discharge_id)
    state = FormState({"discharge_date": d.discharge_date.isoformat(),
                       **{name: str(getattr(d, name)) for name in PLAN_FIELDS}})
    return _plan_form(state, _patient(patient_id), d)[0]


@bp.post("/patients/<id:patient_id>/discharges/<id:discharge_id>/edit")
@roles(*access.STAFF)
def discharge_update(patient_id: int, discharge_id: int):
    """Change the date or the plan; a field left empty keeps its value."""
    state = FormState(request.form, ALIASES)
    changes = _plan_input(state, schemas.DischargeUpdate)
    return submit(state, *_plan_change(patient_id, discharge_id, "update", "Plan saved.",
                                       lambda clock: plans.update(db.session, discharge_id, changes, clock)))


@bp.post("/patients/<id:patient_id>/discharges/<id:discharge_id>/end")
@roles(*access.STAFF)
def discharge_end(patient_id: int, discharge_id: int):
    """End the plan with a reason: it raises no task and sends no text from now on."""
    state = FormState(request.form)
    body = parse_into(state, schemas.PlanEnd, {"reason": state.get("reason")})
    return submit(state, *_plan_change(patient_id, discharge_id, "end", "Plan ended.",
                                       lambda clock: plans.end(db.session, discharge_id, body.reason, clock)))


def _plan_change(patient_id: int, discharge_id: int, action: str, flash: str, change):
    """submit()'s act and refusal for `change(clock)` to a discharge this user may see: done, back
    to the Aftercare section; refused, its plan's form with the messages."""
    d = _discharge(patient_id, discharge_id)

    def act(clock):
        change(clock)
        return Done(_aftercare(patient_id), (action, "discharge", discharge_id), flash=flash)
    return act, lambda state, status: _plan_form(state, _patient(patient_id), d, status)


def _aftercare(patient_id: int) -> str:
    """The patient's page at its Aftercare section, where every change here lands."""
    return url_for("web.patient_page", patient_id=patient_id) + "#aftercare"


# --- the first session ----------------------------------------------------------------------


@bp.post("/patients/<id:patient_id>/discharges/<id:discharge_id>/first-session")
@roles(*access.EVERYONE)
def first_session(patient_id: int, discharge_id: int):
    """Book the slot pressed: the ordinary booking (its checks, locks and booking text)."""
    _discharge(patient_id, discharge_id)
    state = FormState(request.form)
    therapist_id = require_id(state.get("therapist"), "therapist")
    access.require_therapist(user(), therapist_id)
    body = parse_into(state, schemas.AppointmentCreate, {
        "therapist_id": str(therapist_id), "patient_id": str(patient_id), "start": state.get("start"),
        "duration_minutes": str(SESSION_MINUTES)})

    def act(clock):
        appt = appointments.book(db.session, therapist_id, patient_id, body.start, body.duration_minutes,
                                 clock, user().id, settings=settings.current())
        start = appt.start_dt.astimezone(timeutil.zone(patients.get_patient(db.session, patient_id).timezone))
        return Done(_aftercare(patient_id),
                    ("create", "appointment", appt.id),
                    flash=f"First session booked: {day_label(start.date())} at {clock_label(start)}.")
    return submit(state, act, not_done, missing=("", "That slot is no longer free."))


@bp.post("/patients/<id:patient_id>/discharges/<id:discharge_id>/first-group")
@roles(*access.EVERYONE)
def first_group(patient_id: int, discharge_id: int):
    """Give the patient a seat in the group pressed (a therapist: only a group they facilitate)."""
    _discharge(patient_id, discharge_id)
    state = FormState(request.form)
    group_id = require_id(state.get("group"), "group")

    def act(clock):
        offered = {g["group_id"] for g in first_sessions.find(
            db.session, plans.get(db.session, discharge_id), clock, within_days=LATER,
            duration_minutes=SESSION_MINUTES, user=user())["groups"]}
        if group_id not in offered:
            raise Conflict("That group has no free seat on offer now.")
        enrollment = roster.enroll(db.session, group_id, patient_id, clock, settings=settings.current())
        return Done(_aftercare(patient_id),
                    ("create", "enrollment", enrollment.id), flash="Enrolled in the group.")
    return submit(state, act, not_done, missing=("", "That group is gone."))
