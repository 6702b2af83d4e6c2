"""Patient routes: register, read, change, and the SMS log. Every call leaves an audit row."""
from __future__ import annotations

from flask import g

from scheduler.api import audited, bp, now, roles
from scheduler.api.validate import Form, a_date, boolean, json_body, one_of, text, timezone_name
from scheduler.core import access, audit, timeutil
from scheduler.extensions import db
from scheduler.models import Message, Patient
from scheduler.scheduling import care_teams, patients

FIELDS = ("name", "phone", "timezone", "language", "sms_consent", "discharge_date", "therapist_ids")
PARSERS = {
    "name": text(200),
    "phone": patients.normalize_phone,
    "timezone": timezone_name,
    "language": one_of("en", "es"),
    "sms_consent": boolean,
    "discharge_date": a_date,
    "therapist_ids": care_teams.parse_ids,
}


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
def create_patient():
    """Register a patient."""
    form = Form(json_body(), FIELDS)
    values = {name: form.get(name, PARSERS[name], required=name in ("name", "phone", "timezone",
                                                                        "sms_consent"))
              for name in FIELDS}
    form.check()
    t = now()
    patient = patients.create_patient(
        db.session, name=values["name"], phone=values["phone"], timezone=values["timezone"],
        sms_consent=values["sms_consent"], language=values["language"] or "en",
        discharge_date=values["discharge_date"], now=t, source=_source(),
        therapist_ids=values["therapist_ids"], user_id=g.user.id)
    audit.record(db.session, "create", "patient", patient.id, t)
    body = patient_json(patient), 201
    db.session.commit()
    return body


@bp.get("/patients/<int:patient_id>")
@roles("admin", "coordinator", "therapist")
def get_patient(patient_id: int):
    """One patient's record."""
    patient = _readable(patient_id)
    return audited("read", "patient", patient.id, patient_json(patient))


@bp.patch("/patients/<int:patient_id>")
@roles("admin", "coordinator")
def update_patient(patient_id: int):
    """Change a patient's details or consent, or add a discharge."""
    form = Form(json_body(), FIELDS)
    changes = {}
    for name in FIELDS:
        if not form.has(name):
            continue
        if form.data[name] is None:
            form.errors[name] = "must not be null"
            continue
        value = form.get(name, PARSERS[name])
        if name not in form.errors:
            changes[name] = value
    form.check()
    t = now()
    patient = patients.update_patient(db.session, patient_id, changes, t, _source(), user_id=g.user.id)
    audit.record(db.session, "update", "patient", patient.id, t)
    body = patient_json(patient)
    db.session.commit()
    return body


@bp.get("/patients/<int:patient_id>/messages")
@roles("admin", "coordinator", "therapist")
def patient_messages(patient_id: int):
    """The patient's SMS log, in and out, newest first."""
    _readable(patient_id)
    rows = patients.messages(db.session, patient_id)
    return audited("read", "patient_messages", patient_id, {"messages": [message_json(m) for m in rows]})
