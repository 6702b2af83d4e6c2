"""Discharge routes: record, list with progress, change and end a plan, and the first free sessions."""
from __future__ import annotations

from flask import g, jsonify, make_response

from scheduler import schemas
from scheduler.aftercare import first_sessions, plans, progress
from scheduler.api import audited, bp, endpoint, now, roles
from scheduler.core import access, timeutil
from scheduler.extensions import db
from scheduler.models import Discharge, Patient
from scheduler.models.enums import Role
from scheduler.scheduling import patients


def discharge_json(d: Discharge, state: dict) -> dict:
    """A discharge with its plan and its progress (aftercare.progress)."""
    last = state["last_attended"]
    return {
        "id": d.id, "patient_id": d.patient_id, "date": d.discharge_date.isoformat(),
        "plan_days": d.plan_days, "individual_per_week": d.individual_per_week,
        "groups_per_week": d.groups_per_week, "active": state["active"],
        "ended_at": timeutil.iso(d.ended_at), "ended_reason": d.ended_reason,
        "planned": state["planned"], "attended": state["attended"], "missed": state["missed"],
        "last_attended": last.isoformat() if last else None, "days_since_last": state["days_since_last"],
        "follow_up": state["follow_up"],
    }


def _readable_patient(patient_id: int) -> Patient:
    patient = patients.get_patient(db.session, patient_id)
    access.require_patient(db.session, g.user, patient_id)
    return patient


def _readable(discharge_id: int) -> Discharge:
    """The discharge, if the caller may see its patient (else 404, as if missing)."""
    discharge = plans.get(db.session, discharge_id)
    if not access.may_see_patient(db.session, g.user, discharge.patient_id):
        raise access.Refused("discharge not found", entity="discharge", entity_id=discharge_id)
    return discharge


def _one(discharge: Discharge) -> dict:
    patient = db.session.get(Patient, discharge.patient_id)
    everyone = plans.of_patient(db.session, patient.id)  # a session counts for the newest plan it falls in
    return discharge_json(discharge, progress.of_patient(db.session, patient, everyone, now())[discharge.id])


@bp.post("/patients/<int:patient_id>/discharges")
@roles(Role.ADMIN, Role.COORDINATOR)
@endpoint(schemas.Discharge, body=schemas.DischargeCreate, status=201, conflict=True)
def record_discharge(patient_id: int, body: schemas.DischargeCreate):
    """Record a discharge and its plan; the same date again answers 200 with the existing one."""
    patients.get_patient(db.session, patient_id)
    discharge, created = plans.record(db.session, patient_id, body.date, now(), plan_days=body.plan_days,
                                      individual_per_week=body.individual_per_week,
                                      groups_per_week=body.groups_per_week)
    answer = audited("create" if created else "read", "discharge", discharge.id, _one(discharge))
    if created:
        return answer
    # The same patient and date again: the existing discharge, 200 (nothing was created).
    return make_response(jsonify(answer.model_dump(mode="json", by_alias=True, exclude_unset=True)), 200)


record_discharge.also_ok = (200,)  # the same patient and date again: the existing discharge


@bp.get("/patients/<int:patient_id>/discharges")
@roles(Role.ADMIN, Role.COORDINATOR, Role.THERAPIST)
@endpoint(schemas.Discharges)
def list_discharges(patient_id: int):
    """The patient's discharges, newest first, each with its plan and progress."""
    patient = _readable_patient(patient_id)
    rows = plans.of_patient(db.session, patient.id)
    state = progress.of_patient(db.session, patient, rows, now())
    return audited("read", "patient_discharges", patient.id,
                   {"discharges": [discharge_json(d, state[d.id]) for d in rows]})


@bp.patch("/discharges/<int:discharge_id>")
@roles(Role.ADMIN, Role.COORDINATOR)
@endpoint(schemas.Discharge, body=schemas.DischargeUpdate, conflict=True)
def update_discharge(discharge_id: int, body: schemas.DischargeUpdate):
    """Change the date or the plan; only the fields given change."""
    changes = {name: getattr(body, name) for name in body.model_fields_set}
    discharge = plans.update(db.session, discharge_id, changes, now())
    return audited("update", "discharge", discharge.id, _one(discharge))


@bp.post("/discharges/<int:discharge_id>/end")
@roles(Role.ADMIN, Role.COORDINATOR)
@endpoint(schemas.Discharge, body=schemas.PlanEnd, conflict=True)
def end_plan(discharge_id: int, body: schemas.PlanEnd):
    """End the plan with a reason: it raises no task and sends no text from now on."""
    discharge = plans.end(db.session, discharge_id, body.reason, now())
    return audited("end", "discharge", discharge.id, _one(discharge))


@bp.get("/discharges/<int:discharge_id>/first-slots")
@roles(Role.ADMIN, Role.COORDINATOR, Role.THERAPIST)
@endpoint(schemas.FirstSlots, query=schemas.FirstSlotsQuery)
def first_slots(discharge_id: int, query: schemas.FirstSlotsQuery):
    """The earliest free sessions after the discharge: care team first, then the rest; group meetings."""
    discharge = _readable(discharge_id)
    found = first_sessions.find(db.session, discharge, now(), within_days=query.within_days,
                                duration_minutes=query.duration, user=g.user)
    return audited("read", "discharge_first_slots", discharge.id, found)
