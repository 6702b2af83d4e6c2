"""Patient routes: register, read, change, and the SMS log. Every call leaves an audit row."""
from __future__ import annotations

from flask import g

from scheduler import schemas
from scheduler.api import audited, bp, endpoint, now, roles
from scheduler.core import access, settings
from scheduler.extensions import db
from scheduler.models import Patient
from scheduler.models.enums import Role
from scheduler.scheduling import patients


def _source() -> str:
    return f"api:user {g.user.id}"


def _readable(patient_id: int) -> Patient:
    """The patient, if the caller may see them: staff always, a therapist only in their care (else 404)."""
    patient = patients.get_patient(db.session, patient_id)
    access.require_patient(db.session, g.user, patient_id)
    return patient


@bp.post("/patients")
@roles(Role.ADMIN, Role.COORDINATOR)
@endpoint(schemas.Patient, body=schemas.PatientCreate, status=201, conflict=True)
def create_patient(body: schemas.PatientCreate):
    """Register a patient."""
    patient = patients.create_patient(db.session, **dict(body), now=now(), source=_source(),
                                      user_id=g.user.id)
    return audited("create", "patient", patient.id, patient)


@bp.get("/patients/<int:patient_id>")
@roles(Role.ADMIN, Role.COORDINATOR, Role.THERAPIST)
@endpoint(schemas.Patient)
def get_patient(patient_id: int):
    """One patient's record."""
    patient = _readable(patient_id)
    return audited("read", "patient", patient.id, patient)


@bp.patch("/patients/<int:patient_id>")
@roles(Role.ADMIN, Role.COORDINATOR)
@endpoint(schemas.Patient, body=schemas.PatientUpdate, conflict=True)
def update_patient(patient_id: int, body: schemas.PatientUpdate):
    """Change a patient's details or consent, or add a discharge; only the fields given change."""
    changes = {name: getattr(body, name) for name in body.model_fields_set}
    patient = patients.update_patient(db.session, patient_id, changes, now(), _source(), user_id=g.user.id,
                                      settings=settings.current())
    return audited("update", "patient", patient.id, patient)


@bp.get("/patients/<int:patient_id>/messages")
@roles(Role.ADMIN, Role.COORDINATOR, Role.THERAPIST)
@endpoint(schemas.Messages)
def patient_messages(patient_id: int):
    """The patient's SMS log, in and out, newest first."""
    _readable(patient_id)
    rows = patients.messages(db.session, patient_id, g.user)
    return audited("read", "patient_messages", patient_id, {"messages": rows})
