"""Patient routes: register, read, change, and the SMS log. Every call leaves an audit row."""
from __future__ import annotations

from flask import g

from scheduler import schemas
from scheduler.api import audited, bp, endpoint, now, roles
from scheduler.core import access, settings, timeutil
from scheduler.extensions import db
from scheduler.models import Message, Patient
from scheduler.scheduling import patients


def patient_json(p: Patient) -> dict:
    """What staff see of a patient."""
    return {
        "id": p.id, "name": p.name, "phone": p.phone, "timezone": p.timezone,
        "language": p.language, "sms_consent": p.sms_consent, "consent_at": timeutil.iso(p.consent_at),
        "opted_out": p.opted_out_at is not None, "opted_out_at": timeutil.iso(p.opted_out_at),
        "discharges": [d.discharge_date.isoformat() for d in p.discharges],
        "therapist_ids": p.therapist_ids,
    }


def message_json(m: Message) -> dict:
    """One row of the SMS log."""
    return {
        "id": m.id, "direction": m.direction, "kind": m.kind, "status": m.status, "body": m.body,
        "to": m.to_phone, "due_at": timeutil.iso(m.due_at), "sent_at": timeutil.iso(m.sent_at),
        "created_at": timeutil.iso(m.created_at), "twilio_sid": m.twilio_sid,
        "error_code": m.error_code, "error": m.error, "skip_reason": m.skip_reason,
        "history": m.history or [], "appointment_id": m.appointment_id,
        "occurrence_id": m.occurrence_id,
    }


def _source() -> str:
    return f"api:user {g.user.id}"


def _readable(patient_id: int) -> Patient:
    """The patient, if the caller may see them: staff always, a therapist only in their care (else 404)."""
    patient = patients.get_patient(db.session, patient_id)
    access.require_patient(db.session, g.user, patient_id)
    return patient


@bp.post("/patients")
@roles("admin", "coordinator")
@endpoint(schemas.Patient, body=schemas.PatientCreate, status=201, conflict=True)
def create_patient(body: schemas.PatientCreate):
    """Register a patient."""
    patient = patients.create_patient(db.session, **dict(body), now=now(), source=_source(),
                                      user_id=g.user.id)
    return audited("create", "patient", patient.id, patient_json(patient), 201)


@bp.get("/patients/<int:patient_id>")
@roles("admin", "coordinator", "therapist")
@endpoint(schemas.Patient)
def get_patient(patient_id: int):
    """One patient's record."""
    patient = _readable(patient_id)
    return audited("read", "patient", patient.id, patient_json(patient))


@bp.patch("/patients/<int:patient_id>")
@roles("admin", "coordinator")
@endpoint(schemas.Patient, body=schemas.PatientUpdate, conflict=True)
def update_patient(patient_id: int, body: schemas.PatientUpdate):
    """Change a patient's details or consent, or add a discharge; only the fields given change."""
    changes = {name: getattr(body, name) for name in body.model_fields_set}
    patient = patients.update_patient(db.session, patient_id, changes, now(), _source(), user_id=g.user.id,
                                      settings=settings.current())
    return audited("update", "patient", patient.id, patient_json(patient))


@bp.get("/patients/<int:patient_id>/messages")
@roles("admin", "coordinator", "therapist")
@endpoint(schemas.Messages)
def patient_messages(patient_id: int):
    """The patient's SMS log, in and out, newest first."""
    _readable(patient_id)
    rows = patients.messages(db.session, patient_id, g.user)
    return audited("read", "patient_messages", patient_id, {"messages": [message_json(m) for m in rows]})
