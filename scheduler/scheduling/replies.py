"""What a patient's reply does to their bookings: a C confirms the next appointment or group meeting.

messaging.inbound stores and reads the text, and answers it; handle() runs act() between the
two, in the same transaction, so messaging never reaches into the calendar. handle() is the one
way a text is taken in: the Twilio webhook calls it, and so does the patient's page when staff
send a reply as the patient (DEMO_REPLIES, simulate()).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduler.core.settings import Settings
from scheduler.errors import DomainError, Forbidden
from scheduler.messaging import inbound
from scheduler.models import Enrollment, EnrollmentStatus, MessageKind, Occurrence
from scheduler.scheduling import appointments, patients, roster


def handle(session: Session, from_phone: str | None, body: str | None, message_sid: str | None,
           now: datetime, settings: Settings, simulated: bool = False) -> str | None:
    """Take in a patient's text: store and read it, let it change a booking, answer it. The caller commits.

    Returns the answer's words (None for none): the webhook puts them in TwiML.
    """
    return _take_in(session, from_phone, body, message_sid, now, settings, simulated)[1]


def _take_in(session: Session, from_phone: str | None, body: str | None, message_sid: str | None,
             now: datetime, settings: Settings, simulated: bool) -> tuple[inbound.Received | None, str | None]:
    received = inbound.receive(session, from_phone, body, message_sid, now, settings, simulated=simulated)
    act(session, received, now)
    return received, inbound.answer(session, received, now, settings)


def simulate(session: Session, patient_id: int, body: str, now: datetime,
             settings: Settings) -> tuple[int, str | None]:
    """A reply staff send as the patient (DEMO_REPLIES), handled exactly as the same text from their phone.

    `body` is read by schemas.SimulatedReply. Returns the stored text's id and the answer the
    patient would get (None for none). Forbidden unless the settings allow it; NotFound for no
    such patient.
    """
    if not settings.demo_replies or settings.sms.backend != "console":
        raise Forbidden("sending a reply as a patient is not turned on (DEMO_REPLIES)")
    patient = patients.get_patient(session, patient_id)
    received, answer = _take_in(session, patient.phone, body, None, now, settings, simulated=True)
    return received.message.id, answer


def act(session: Session, received: inbound.Received | None, now: datetime) -> None:
    """Do what a new text asks of the calendar, setting the answer it gets (only C asks anything)."""
    if received is not None and received.kind == MessageKind.CONFIRM:
        _confirm(session, received, now)


def next_occurrence(session: Session, patient_id: int, now: datetime) -> Occurrence | None:
    """The next meeting, not cancelled and not started, of a group the patient is enrolled in."""
    return session.scalars(
        select(Occurrence)
        .join(Enrollment, Enrollment.group_id == Occurrence.group_id)
        .where(Enrollment.patient_id == patient_id, Enrollment.status == EnrollmentStatus.ENROLLED,
               Occurrence.cancelled.is_(False), Occurrence.start_dt > now)
        .order_by(Occurrence.start_dt, Occurrence.id).limit(1)
    ).first()


def _confirm(session: Session, received: inbound.Received, now: datetime) -> None:
    """C: confirm whichever comes first, the next appointment or the next group meeting."""
    patient, text = received.patient, received.message
    appt = inbound.next_appointment(session, patient.id, now, for_update=True)
    occ = next_occurrence(session, patient.id, now)
    try:
        if appt is not None and (occ is None or appt.start_dt <= occ.start_dt):
            appointments.confirm(session, appt, now)
            text.appointment_id = appt.id
            received.answer, received.start_dt = "confirm_ack", appt.start_dt
        elif occ is not None:
            roster.confirm_occurrence(session, occ, patient.id, now)
            text.occurrence_id = occ.id
            received.answer, received.start_dt = "confirm_ack", occ.start_dt
    except DomainError:
        pass  # it changed under us (cancelled, started): the answer stays "nothing to confirm"
