"""What a patient's text does (confirm, reschedule, opt out or in, help); delivery
statuses are messaging.statuses.

Inbound texts and their answers are stored as Message rows so the patient's log is complete;
anything staff should act on becomes a Task. Neither ever goes to the logs.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduler.core.settings import Settings
from scheduler.errors import DomainError
from scheduler.messaging import optouts, reminders, replies, templates, texts
from scheduler.models import (
    Appointment,
    Direction,
    Enrollment,
    EnrollmentStatus,
    Message,
    MessageStatus,
    Occurrence,
    Patient,
    Task,
    TaskKind,
)
from scheduler.scheduling import appointments, roster
from scheduler.scheduling.patients import normalize_phone

# The text each kind of reply is answered with (confirm picks its own, see _confirm).
ANSWERS = {
    replies.RESCHEDULE: "reschedule_ack",
    replies.OPT_OUT: "opt_out_ack",
    replies.OPT_IN: "opt_in_ack",
    replies.HELP: "help",
    replies.OTHER: "unrecognized",
}
# A number that opted out (or never consented) still gets these answers, and no others.
ALWAYS_ANSWERED = frozenset({replies.OPT_OUT, replies.OPT_IN, replies.HELP})

def find_patient(session: Session, from_phone: str | None) -> Patient | None:
    """The patient with this number, locked for the transaction; None for an unknown number."""
    try:
        phone = normalize_phone(from_phone)
    except ValueError:
        return None
    # Locking the patient serialises texts from one number (a repeated webhook, C then STOP).
    return session.execute(select(Patient).where(Patient.phone == phone).with_for_update()
                           .execution_options(populate_existing=True)).scalar_one_or_none()


def _valid(phone: str | None) -> bool:
    try:
        normalize_phone(phone)
    except ValueError:
        return False
    return True


def next_appointment(session: Session, patient_id: int, now: datetime,
                     for_update: bool = False) -> Appointment | None:
    """The patient's next scheduled or confirmed appointment that has not started."""
    query = (select(Appointment)
             .where(Appointment.patient_id == patient_id, Appointment.status.in_(appointments.ACTIVE),
                    Appointment.start_dt > now)
             .order_by(Appointment.start_dt, Appointment.id).limit(1))
    if for_update:
        # Re-read under the lock: a cancel committed meanwhile must not be overwritten.
        query = query.with_for_update().execution_options(populate_existing=True)
    return session.scalars(query).first()


def next_occurrence(session: Session, patient_id: int, now: datetime) -> Occurrence | None:
    """The next meeting, not cancelled and not started, of a group the patient is enrolled in."""
    return session.scalars(
        select(Occurrence)
        .join(Enrollment, Enrollment.group_id == Occurrence.group_id)
        .where(Enrollment.patient_id == patient_id, Enrollment.status == EnrollmentStatus.ENROLLED,
               Occurrence.cancelled.is_(False), Occurrence.start_dt > now)
        .order_by(Occurrence.start_dt, Occurrence.id).limit(1)
    ).first()


def _task(session: Session, patient: Patient, kind: str, inbound: Message, now: datetime,
          detail: str, appointment: Appointment | None = None) -> None:
    session.add(Task(patient_id=patient.id, kind=kind, message_id=inbound.id, detail=detail,
                     appointment_id=appointment.id if appointment else None, created_at=now))


def _confirm(session: Session, patient: Patient, inbound: Message, now: datetime):
    """C: confirm whichever comes first, the next appointment or the next group meeting."""
    appt = next_appointment(session, patient.id, now, for_update=True)
    occ = next_occurrence(session, patient.id, now)
    try:
        if appt is not None and (occ is None or appt.start_dt <= occ.start_dt):
            appointments.confirm(session, appt, now)
            inbound.appointment_id = appt.id
            return "confirm_ack", appt.start_dt
        if occ is not None:
            roster.confirm_occurrence(session, occ, patient.id, now)
            inbound.occurrence_id = occ.id
            return "confirm_ack", occ.start_dt
    except DomainError:
        pass  # it changed under us (cancelled, started): nothing left to confirm
    return "nothing_to_confirm", None


def _act(session: Session, patient: Patient, kind: str, inbound: Message, now: datetime,
         settings: Settings, unclear: bool = False):
    """Do what the reply asks; return (text kind to answer with or None, time it names)."""
    if kind == replies.CONFIRM:
        return _confirm(session, patient, inbound, now)
    if kind == replies.RESCHEDULE:
        appt = next_appointment(session, patient.id, now)
        _task(session, patient, TaskKind.RESCHEDULE_REQUEST, inbound, now,
              "Asked by text to reschedule; the appointment stays until staff change it", appt)
    elif kind == replies.OPT_OUT:
        if not optouts.opt_out(session, patient, now):
            return None, None  # already opted out: the one confirmation was sent then
        # CANCEL is an opt-out word: someone who meant their appointment needs a call.
        detail = ("Opted out: the reply had an opt-out word among other words; call them to check "
                  "what they meant (they must text START to get texts again)" if unclear else
                  "Opted out of texts by reply; call them, they may have meant to cancel")
        _task(session, patient, TaskKind.OPT_OUT, inbound, now, detail, next_appointment(session, patient.id, now))
    elif kind == replies.OPT_IN:
        optouts.opt_in(session, patient, now)
        reminders.replan_patient(session, patient, now, settings=settings)  # the texts still due come back, once
        if not patient.sms_consent:
            _task(session, patient, TaskKind.CONSENT_NEEDED, inbound, now,
                  "Asked by text to get texts again, but no consent is on record")
    elif kind == replies.OTHER:
        _task(session, patient, TaskKind.UNRECOGNIZED_REPLY, inbound, now,
              "A reply was not understood; see the message log")
    return ANSWERS[kind], None


def _earlier_answer(session: Session, message_sid: str) -> str | None:
    """What we answered the first time this MessageSid came in (None if nothing)."""
    return session.scalar(select(Message.body).where(Message.dedupe_key == f"reply:{message_sid}"))


def _forged(*values: str | None) -> bool:
    """Twilio never sends a NUL in a number or sid (PostgreSQL text could not even compare one)."""
    return any(value and "\x00" in value for value in values)


def handle_inbound(session: Session, from_phone: str | None, body: str | None, message_sid: str | None,
                   now: datetime, settings: Settings) -> str | None:
    """Store and act on a patient's text; return the answer to send back, or None for none."""
    if _forged(from_phone, message_sid):
        return None
    body = (body or "").replace("\x00", "")  # a phone may send one; no database text column holds it
    patient = find_patient(session, from_phone)
    if patient is None:
        # An unknown number learns nothing; its STOP or START is remembered for a later patient.
        kind = replies.classify(body)
        if kind == replies.OPT_OUT:
            optouts.remember(session, normalize_phone(from_phone) if _valid(from_phone) else None, now)
        elif kind == replies.OPT_IN and _valid(from_phone):
            optouts.forget(session, normalize_phone(from_phone))
        return None
    if message_sid and session.scalar(select(Message.id).where(Message.twilio_sid == message_sid)):
        return _earlier_answer(session, message_sid)  # Twilio retried: act once, answer alike
    kind, unclear = replies.read(body)
    inbound = Message(patient_id=patient.id, direction=Direction.IN, kind=kind, twilio_sid=message_sid or None,
                      status=MessageStatus.RECEIVED, body=body or "", attempts=0, created_at=now,
                      history=[{"status": MessageStatus.RECEIVED, "at": now.isoformat()}])
    session.add(inbound)
    session.flush()  # tasks refer to it
    answer, start_dt = _act(session, patient, kind, inbound, now, settings, unclear)
    if answer is None or (kind not in ALWAYS_ANSWERED and not patient.can_text):
        return None
    text = texts.render(answer, patient.language, clinic_name=settings.clinic_sms_name,
                        clinic_phone=settings.clinic_phone, start_dt=start_dt, tz=patient.timezone,
                        overrides=templates.overrides(session))
    # The answer travels in the webhook's TwiML, not through dispatch: it is already sent.
    session.add(Message(patient_id=patient.id, direction=Direction.OUT, kind=f"reply_{answer}",
                        dedupe_key=f"reply:{message_sid}" if message_sid else None,
                        appointment_id=inbound.appointment_id, occurrence_id=inbound.occurrence_id,
                        session_start_dt=start_dt, status=MessageStatus.SENT, attempts=0, to_phone=patient.phone,
                        body=text, created_at=now, sent_at=now,
                        history=[{"status": MessageStatus.SENT, "at": now.isoformat(), "detail": "reply in TwiML"}]))
    session.flush()
    return text
