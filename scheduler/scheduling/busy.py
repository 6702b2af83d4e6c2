"""Who is already busy when: appointments and group occurrences, for therapists and patients.

Each question is one statement built once from the same four parts (a person's appointments,
the meetings a therapist facilitates, the meetings a patient is enrolled in, time off), so the
booking check and the interval lists cannot drift apart.
"""
from __future__ import annotations

from datetime import datetime
from functools import cache

from sqlalchemy import and_, bindparam, or_, select, union_all
from sqlalchemy.orm import Session

from scheduler.models import Appointment, AvailabilityException, Enrollment, GroupSeries, Occurrence
from scheduler.scheduling.limits import MAX_SESSION

# An appointment holds its time until it is cancelled; a late cancellation frees it too.
HOLDING = ("scheduled", "confirmed", "attended", "no_show")
# Appointments and groups both cap duration at limits.MAX_SESSION, so "overlaps [start, end)" can
# be asked as "starts in (start - MAX_SESSION, end)": an index range scan, not someone's whole history.
Interval = tuple[datetime, datetime]


def _overlapping(start_col, end_col):
    """Overlaps [start, end), with `since` = start - MAX_SESSION bounding the index scan."""
    return and_(start_col > bindparam("since"), start_col < bindparam("end"), end_col > bindparam("start"))


def _appointments(who: str):
    """Held appointments of the therapist or patient `who`, other than `exclude`."""
    return select(Appointment.start_dt, Appointment.end_dt).where(
        getattr(Appointment, f"{who}_id") == bindparam(who), Appointment.status.in_(HOLDING),
        Appointment.id != bindparam("exclude"), _overlapping(Appointment.start_dt, Appointment.end_dt))


def _facilitated():
    """Live meetings of groups the therapist facilitates."""
    return select(Occurrence.start_dt, Occurrence.end_dt).join(GroupSeries).where(
        GroupSeries.facilitator_id == bindparam("therapist"), Occurrence.cancelled.is_(False),
        _overlapping(Occurrence.start_dt, Occurrence.end_dt))


def _enrolled():
    """Live meetings of groups the patient is enrolled in, other than group `exclude_group`."""
    return select(Occurrence.start_dt, Occurrence.end_dt).join(Enrollment, and_(
        Enrollment.group_id == Occurrence.group_id, Enrollment.patient_id == bindparam("patient"),
        Enrollment.status == "enrolled")).where(
        Occurrence.cancelled.is_(False), Occurrence.group_id != bindparam("exclude_group"),
        _overlapping(Occurrence.start_dt, Occurrence.end_dt))


# Built once: constructing these selects costs more Python than running them.
@cache
def _statement(name: str):
    if name == "therapist":
        return union_all(_appointments("therapist"), _facilitated())
    if name == "patient":
        return union_all(_appointments("patient"), _enrolled())
    time_off = select(AvailabilityException.id).where(
        AvailabilityException.therapist_id == bindparam("therapist"),
        AvailabilityException.start_dt < bindparam("end"), AvailabilityException.end_dt > bindparam("start"))
    return select(time_off.exists(),
                  or_(_appointments("therapist").exists(), _facilitated().exists()),
                  or_(_appointments("patient").exists(), _enrolled().exists()))


def _params(start: datetime, end: datetime, exclude_appointment: int | None,
            exclude_group: int | None = None, **people) -> dict:
    # Ids start at 1, so excluding 0 excludes nothing.
    return {"start": start, "end": end, "since": start - MAX_SESSION,
            "exclude": exclude_appointment or 0, "exclude_group": exclude_group or 0, **people}


def therapist_intervals(session: Session, therapist_id: int, start: datetime, end: datetime,
                        exclude_appointment: int | None = None) -> list[Interval]:
    """The therapist's appointments and facilitated occurrences overlapping [start, end)."""
    rows = session.execute(_statement("therapist"),
                           _params(start, end, exclude_appointment, therapist=therapist_id))
    return sorted(tuple(r) for r in rows)


def patient_intervals(session: Session, patient_id: int, start: datetime, end: datetime,
                      exclude_appointment: int | None = None,
                      exclude_group: int | None = None) -> list[Interval]:
    """The patient's appointments and enrolled-group occurrences overlapping [start, end)."""
    rows = session.execute(_statement("patient"),
                           _params(start, end, exclude_appointment, exclude_group, patient=patient_id))
    return sorted(tuple(r) for r in rows)


def clash(session: Session, therapist_id: int, patient_id: int, start: datetime, end: datetime,
          exclude_appointment: int | None = None) -> str | None:
    """Why [start, end) cannot be booked: "time_off", "therapist" or "patient" (busy), or None."""
    row = session.execute(_statement("clash"), _params(
        start, end, exclude_appointment, therapist=therapist_id, patient=patient_id)).one()
    for reason, taken in zip(("time_off", "therapist", "patient"), row, strict=True):
        if taken:
            return reason
    return None
