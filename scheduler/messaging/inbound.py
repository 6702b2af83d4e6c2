"""A patient's text: stored and read, what it asks of messaging (opt out or in, a task for
staff, help), and the answer; delivery statuses are messaging.statuses.

What a text does to a booking (a C confirms) is scheduling.replies.act, which the webhook runs
between receive() and answer(), in the same transaction. Inbound texts and their answers are
stored as Message rows so the patient's log is complete; anything staff should act on becomes a
Task. Neither ever goes to the logs.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduler.core import phones
from scheduler.core.settings import Settings
from scheduler.messaging import optouts, reminders, replies, templates, texts
from scheduler.models import (
    ACTIVE_APPOINTMENT_STATUSES,
    Appointment,
    Direction,
    Message,
    MessageKind,
    MessageStatus,
    Patient,
    Task,
    TaskKind,
)

# The text each kind of reply is answered with; a C is answered "nothing_to_confirm" unless
# scheduling.replies confirms something.
ANSWERS = {
    replies.CONFIRM: "nothing_to_confirm",
    replies.RESCHEDULE: "reschedule_ack",
    replies.OPT_OUT: "opt_out_ack",
    replies.OPT_IN: "opt_in_ack",
    replies.HELP: "help",
    replies.OTHER: "unrecognized",
}
SIMULATED = "simulated: sent by staff as the patient (DEMO_REPLIES)"
SIMULATED_ANSWER = "simulated: shown on the page, not sent"
# A number that opted out (or never consented) still gets these answers, and no others.
ALWAYS_ANSWERED = frozenset({replies.OPT_OUT, replies.OPT_IN, replies.HELP})


@dataclass
class Received:
    """A patient's text as stored and read, and what it is to be answered with."""

    patient: Patient
    message: Message | None  # None: Twilio retried a text already handled
    answer: str | None = None  # the text kind (messaging.texts) to answer with; None for no answer
    start_dt: datetime | None = None  # the time the answer names
    earlier: str | None = None  # for a retry: what was answered the first time

    @property
    def kind(self) -> MessageKind | None:
        """What the text asks for (None for a retry: it was acted on the first time)."""
        return MessageKind(self.message.kind) if self.message is not None else None


def find_patient(session: Session, from_phone: str | None) -> Patient | None:
    """The patient with this number, locked for the transaction; None for an unknown number."""
    phone = phones.normalize_or_none(from_phone)
    if phone is None:
        return None
    # Locking the patient serialises texts from one number (a repeated webhook, C then STOP).
    return session.execute(select(Patient).where(Patient.phone == phone).with_for_update()
                           .execution_options(populate_existing=True)).scalar_one_or_none()


def next_appointment(session: Session, patient_id: int, now: datetime,
                     for_update: bool = False) -> Appointment | None:
    """The patient's next scheduled or confirmed appointment that has not started."""
    query = (select(Appointment)
             .where(Appointment.patient_id == patient_id, Appointment.status.in_(ACTIVE_APPOINTMENT_STATUSES),
                    Appointment.start_dt > now)
             .order_by(Appointment.start_dt, Appointment.id).limit(1))
    if for_update:
        # Re-read under the lock: a cancel committed meanwhile must not be overwritten.
        query = query.with_for_update().execution_options(populate_existing=True)
    return session.scalars(query).first()


def _task(session: Session, patient: Patient, kind: str, inbound: Message, now: datetime,
          detail: str, appointment: Appointment | None = None) -> None:
    session.add(Task(patient_id=patient.id, kind=kind, message_id=inbound.id, detail=detail,
                     appointment_id=appointment.id if appointment else None, created_at=now))


def _act(session: Session, patient: Patient, kind: MessageKind, inbound: Message, now: datetime,
         settings: Settings, unclear: bool = False) -> str | None:
    """Do what the reply asks of messaging; return the text kind to answer with, or None for none."""
    if kind == replies.RESCHEDULE:
        appt = next_appointment(session, patient.id, now)
        _task(session, patient, TaskKind.RESCHEDULE_REQUEST, inbound, now,
              "Asked by text to reschedule; the appointment stays until staff change it", appt)
    elif kind == replies.OPT_OUT:
        if not optouts.opt_out(session, patient, now):
            return None  # already opted out: the one confirmation was sent then
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
    return ANSWERS[kind]


def _earlier_answer(session: Session, message_sid: str) -> str | None:
    """What we answered the first time this MessageSid came in (None if nothing)."""
    return session.scalar(select(Message.body).where(Message.dedupe_key == f"reply:{message_sid}"))


def _forged(*values: str | None) -> bool:
    """Twilio never sends a NUL in a number or sid (PostgreSQL text could not even compare one)."""
    return any(value and "\x00" in value for value in values)


def receive(session: Session, from_phone: str | None, body: str | None, message_sid: str | None,
            now: datetime, settings: Settings, simulated: bool = False) -> Received | None:
    """Store and read a patient's text and do what it asks of messaging; None when nothing is to be done.

    None for a forged request or an unknown number (whose STOP or START is remembered for a later
    patient). A retried MessageSid is acted on once: the result carries the first answer.
    `simulated`: staff typed it on the patient's page (DEMO_REPLIES); it is stored marked so.
    """
    if _forged(from_phone, message_sid):
        return None
    body = (body or "").replace("\x00", "")  # a phone may send one; no database text column holds it
    patient = find_patient(session, from_phone)
    if patient is None:
        # An unknown number learns nothing; its STOP or START is remembered for a later patient.
        kind, phone = replies.classify(body), phones.normalize_or_none(from_phone)
        if kind == replies.OPT_OUT:
            optouts.remember(session, phone, now)
        elif kind == replies.OPT_IN and phone is not None:
            optouts.forget(session, phone)
        return None
    if message_sid and session.scalar(select(Message.id).where(Message.twilio_sid == message_sid)):
        return Received(patient, None, earlier=_earlier_answer(session, message_sid))  # Twilio retried
    kind, unclear = replies.read(body)
    inbound = Message(patient_id=patient.id, direction=Direction.IN, kind=kind, twilio_sid=message_sid or None,
                      status=MessageStatus.RECEIVED, body=body or "", attempts=0, created_at=now,
                      simulated=simulated, history=[{"status": MessageStatus.RECEIVED, "at": now.isoformat(),
                                                     **({"detail": SIMULATED} if simulated else {})}])
    session.add(inbound)
    session.flush()  # tasks refer to it
    return Received(patient, inbound, answer=_act(session, patient, kind, inbound, now, settings, unclear))


def answer(session: Session, received: Received | None, now: datetime, settings: Settings) -> str | None:
    """The text to send back in TwiML, stored as sent; None for none."""
    if received is None:
        return None
    if received.message is None:
        return received.earlier  # a retry: answered alike, acted on nothing
    patient, inbound = received.patient, received.message
    if received.answer is None or (received.kind not in ALWAYS_ANSWERED and not patient.can_text):
        return None
    text = texts.render(received.answer, patient.language, clinic_name=settings.clinic_sms_name,
                        clinic_phone=settings.clinic_phone, start_dt=received.start_dt, tz=patient.timezone,
                        overrides=templates.overrides(session))
    # The answer travels in the webhook's TwiML, not through dispatch: it is already sent (or, for a
    # simulated text, shown to the staff member who typed it: no phone is on either end).
    detail = SIMULATED_ANSWER if inbound.simulated else "reply in TwiML"
    session.add(Message(patient_id=patient.id, direction=Direction.OUT, kind=MessageKind(f"reply_{received.answer}"),
                        dedupe_key=f"reply:{inbound.twilio_sid}" if inbound.twilio_sid else None,
                        appointment_id=inbound.appointment_id, occurrence_id=inbound.occurrence_id,
                        session_start_dt=received.start_dt, status=MessageStatus.SENT, attempts=0,
                        to_phone=patient.phone, body=text, created_at=now, sent_at=now, simulated=inbound.simulated,
                        history=[{"status": MessageStatus.SENT, "at": now.isoformat(), "detail": detail}]))
    session.flush()
    return text
