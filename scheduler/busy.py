"""Who is already busy when: appointments and group occurrences, for therapists and patients."""
from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache

from sqlalchemy import and_, bindparam, or_, select
from sqlalchemy.orm import Session

from .models import Appointment, AvailabilityException, Enrollment, GroupSeries, Occurrence

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


def _overlapping(start_col, end_col):
    """Starts in (since, end) and ends after start: an index range scan (since = start - MAX_SESSION)."""
    return and_(start_col > bindparam("since"), start_col < bindparam("end"), end_col > bindparam("start"))


@lru_cache(maxsize=1)
def _clash_statement():
    """Built once: constructing this select costs more Python than running it."""
    therapist, patient, exclude = bindparam("therapist"), bindparam("patient"), bindparam("exclude")
    time_off = select(AvailabilityException.id).where(
        AvailabilityException.therapist_id == therapist,
        AvailabilityException.start_dt < bindparam("end"), AvailabilityException.end_dt > bindparam("start"))
    held = and_(Appointment.status.in_(HOLDING), Appointment.id != exclude,
                _overlapping(Appointment.start_dt, Appointment.end_dt))
    live = and_(Occurrence.cancelled.is_(False), _overlapping(Occurrence.start_dt, Occurrence.end_dt))
    therapist_appts = select(Appointment.id).where(Appointment.therapist_id == therapist, held)
    facilitated = select(Occurrence.id).join(GroupSeries).where(GroupSeries.facilitator_id == therapist, live)
    patient_appts = select(Appointment.id).where(Appointment.patient_id == patient, held)
    attended = select(Occurrence.id).join(Enrollment, and_(
        Enrollment.group_id == Occurrence.group_id, Enrollment.patient_id == patient,
        Enrollment.status == "enrolled")).where(live)
    return select(time_off.exists(), or_(therapist_appts.exists(), facilitated.exists()),
                  or_(patient_appts.exists(), attended.exists()))


def clash(session: Session, therapist_id: int, patient_id: int, start: datetime, end: datetime,
          exclude_appointment: int | None = None) -> str | None:
    """Why [start, end) cannot be booked: "time_off", "therapist" or "patient" (busy), or None.

    One statement for what therapist_intervals, patient_intervals and the therapist's time off
    would ask in five.
    """
    # Ids start at 1, so excluding 0 excludes nothing.
    row = session.execute(_clash_statement(), {
        "therapist": therapist_id, "patient": patient_id, "start": start, "end": end,
        "since": start - MAX_SESSION, "exclude": exclude_appointment or 0}).one()
    for reason, taken in zip(("time_off", "therapist", "patient"), row, strict=True):
        if taken:
            return reason
    return None
