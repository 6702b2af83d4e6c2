"""Who is already busy when: appointments and group occurrences, for therapists and patients."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from .models import Appointment, Enrollment, GroupSeries, Occurrence

# An appointment holds its time until it is cancelled; a late cancellation frees it too.
HOLDING = ("scheduled", "confirmed", "attended", "no_show")
# Appointments and groups both cap duration at 480 minutes, so "overlaps [start, end)" can be
# asked as "starts in [start - MAX, end)": an index range scan, not someone's whole history.
MAX_SESSION = timedelta(minutes=480)


def therapist_intervals(session: Session, therapist_id: int, start: datetime, end: datetime,
                        exclude_appointment: int | None = None) -> list[tuple[datetime, datetime]]:
    """The therapist's appointments and facilitated occurrences overlapping [start, end)."""
    appts = select(Appointment.start_dt, Appointment.end_dt).where(
        Appointment.therapist_id == therapist_id, Appointment.status.in_(HOLDING),
        Appointment.start_dt > start - MAX_SESSION, Appointment.start_dt < end, Appointment.end_dt > start)
    if exclude_appointment is not None:
        appts = appts.where(Appointment.id != exclude_appointment)
    occs = select(Occurrence.start_dt, Occurrence.end_dt).join(GroupSeries).where(
        GroupSeries.facilitator_id == therapist_id, Occurrence.cancelled.is_(False),
        Occurrence.start_dt > start - MAX_SESSION, Occurrence.start_dt < end, Occurrence.end_dt > start)
    return sorted([tuple(r) for r in session.execute(appts)] + [tuple(r) for r in session.execute(occs)])


def patient_intervals(session: Session, patient_id: int, start: datetime, end: datetime,
                      exclude_appointment: int | None = None,
                      exclude_group: int | None = None) -> list[tuple[datetime, datetime]]:
    """The patient's appointments and enrolled-group occurrences overlapping [start, end)."""
    appts = select(Appointment.start_dt, Appointment.end_dt).where(
        Appointment.patient_id == patient_id, Appointment.status.in_(HOLDING),
        Appointment.start_dt > start - MAX_SESSION, Appointment.start_dt < end, Appointment.end_dt > start)
    if exclude_appointment is not None:
        appts = appts.where(Appointment.id != exclude_appointment)
    occs = select(Occurrence.start_dt, Occurrence.end_dt).join(
        Enrollment, and_(Enrollment.group_id == Occurrence.group_id,
                         Enrollment.patient_id == patient_id, Enrollment.status == "enrolled")
    ).where(Occurrence.cancelled.is_(False), Occurrence.start_dt > start - MAX_SESSION, Occurrence.start_dt < end, Occurrence.end_dt > start)
    if exclude_group is not None:
        occs = occs.where(Occurrence.group_id != exclude_group)
    return sorted([tuple(r) for r in session.execute(appts)] + [tuple(r) for r in session.execute(occs)])
