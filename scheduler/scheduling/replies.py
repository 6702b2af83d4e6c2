"""What a patient's reply does to their bookings: a C confirms the next appointment or group meeting.

messaging.inbound stores and reads the text, and answers it; the webhook runs act() between the
two, in the same transaction, so messaging never reaches into the calendar.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduler.errors import DomainError
from scheduler.messaging import inbound
from scheduler.models import Enrollment, EnrollmentStatus, MessageKind, Occurrence
from scheduler.scheduling import appointments, roster


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
