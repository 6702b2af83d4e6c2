"""One invitation to come back: the `no_show_outreach` text after a missed session.

When a no-show is recorded (an appointment, or a seat at a group meeting) within 48 hours of
the session's end, the patient gets one neutral text inviting them to book again, unless:
they may not be texted (consent, opt-out); their aftercare plan has ended (or has not begun);
a later session is already booked (a live appointment or a seat at a later meeting); or they
were sent one in the last 7 days. At most one per missed session (the row's dedupe key).
If the attendance changes before the text goes, it is withdrawn; dispatch checks the missed
session and the later bookings again at send time (reason_not_to_send), and applies quiet
hours and the wording rules as for every text.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, exists, select
from sqlalchemy.orm import Session

from scheduler.aftercare import plans
from scheduler.core.db import insert_ignore, lock
from scheduler.messaging import reminders
from scheduler.models import (
    Appointment,
    AppointmentStatus,
    Attendance,
    Direction,
    Enrollment,
    EnrollmentStatus,
    Message,
    MessageKind,
    MessageStatus,
    Occurrence,
    Patient,
    SkipReason,
)

KIND = MessageKind.NO_SHOW_OUTREACH
RECORDED_WITHIN = timedelta(hours=48)
ONE_PER = timedelta(days=7)
_LATER = (AppointmentStatus.SCHEDULED, AppointmentStatus.CONFIRMED, AppointmentStatus.ATTENDED,
          AppointmentStatus.NO_SHOW)


def key(patient_id: int, appointment_id: int | None = None, occurrence_id: int | None = None) -> str:
    """The dedupe key: one invitation per missed session."""
    if appointment_id is not None:
        return f"outreach:appt{appointment_id}"
    return f"outreach:occ{occurrence_id}:p{patient_id}"


def booked_after(session: Session, patient_id: int, after: datetime) -> bool:
    """A session later than `after` is booked: an appointment, or a meeting of a group they are enrolled in."""
    appointment = exists().where(Appointment.patient_id == patient_id, Appointment.start_dt > after,
                                 Appointment.status.in_(_LATER))
    meeting = exists().where(Enrollment.patient_id == patient_id, Enrollment.status == EnrollmentStatus.ENROLLED,
                             Occurrence.group_id == Enrollment.group_id, Occurrence.cancelled.is_(False),
                             Occurrence.start_dt > after)
    return bool(session.scalar(select(appointment | meeting)))


def _plan_allows(patient: Patient, now: datetime) -> bool:
    """No plan at all, or the newest plan that has begun is active (an ended plan sends no text)."""
    today = plans.today_of(patient, now)
    if not patient.discharges:
        return True
    newest = max(patient.discharges, key=lambda d: d.discharge_date)
    return plans.is_active(newest, today)


def _sent_lately(session: Session, patient_id: int, now: datetime) -> bool:
    return bool(session.scalar(select(exists().where(
        Message.patient_id == patient_id, Message.kind == KIND, Message.created_at > now - ONE_PER,
        Message.status.not_in((MessageStatus.WITHDRAWN, MessageStatus.SKIPPED, MessageStatus.FAILED))))))


def attendance_recorded(session: Session, patient_id: int, status: str, now: datetime, *,
                        start_dt: datetime, end_dt: datetime, appointment_id: int | None = None,
                        occurrence_id: int | None = None) -> bool:
    """After attendance is recorded or changed: invite back after a no-show, or withdraw the
    invitation when it is no longer one. True when an invitation is now on its way."""
    dedupe = key(patient_id, appointment_id, occurrence_id)
    if status != AppointmentStatus.NO_SHOW:
        reminders.withdraw(session, now, Message.dedupe_key == dedupe, why="attendance changed")
        return False
    patient = lock(session, Patient, patient_id, "patient")  # one invitation per 7 days, also under races
    if (not patient.can_text or now > end_dt + RECORDED_WITHIN or not _plan_allows(patient, now)
            or booked_after(session, patient_id, start_dt) or _sent_lately(session, patient_id, now)):
        return False
    existing = session.scalar(select(Message).where(Message.dedupe_key == dedupe))
    if existing is not None:
        if existing.status != MessageStatus.WITHDRAWN:
            return existing.status == MessageStatus.PENDING
        existing.status, existing.due_at, existing.skip_reason = MessageStatus.PENDING, now, None
        existing.note(MessageStatus.PENDING, now, "no-show recorded again")
        return True
    insert_ignore(session, Message, [dict(
        patient_id=patient_id, direction=Direction.OUT, kind=KIND, dedupe_key=dedupe, due_at=now,
        status=MessageStatus.PENDING, attempts=0, session_start_dt=None, created_at=now,
        appointment_id=appointment_id, occurrence_id=occurrence_id,
        history=[{"status": MessageStatus.PENDING, "at": now.isoformat()}])], "dedupe_key")
    return True


def reason_not_to_send(session: Session, msg: Message, now: datetime) -> str | None:
    """At send time: why the invitation no longer fits (the session is not a no-show any more,
    or a later session was booked meanwhile), or None."""
    if msg.appointment_id is not None:
        appt = session.get(Appointment, msg.appointment_id)
        missed, start = (appt is not None and appt.status == AppointmentStatus.NO_SHOW), appt and appt.start_dt
    else:
        row = session.execute(select(Attendance.status, Occurrence.start_dt).join(
            Occurrence, and_(Occurrence.id == Attendance.occurrence_id)).where(
            Attendance.occurrence_id == msg.occurrence_id, Attendance.patient_id == msg.patient_id)).first()
        missed, start = (row is not None and row.status == AppointmentStatus.NO_SHOW), row and row.start_dt
    if not missed:
        return SkipReason.NOT_MISSED
    if booked_after(session, msg.patient_id, start):
        return SkipReason.BOOKED_AGAIN
    return None
