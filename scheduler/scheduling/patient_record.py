"""What a patient's page shows: upcoming sessions and attendance history, appointments and groups.

Both are narrowed to what the viewer may see (core.access): a therapist sees a shared patient's
appointments on their own calendar and the meetings of groups they facilitate, never another
therapist's schedule with that patient; staff see all.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduler.core import access
from scheduler.models import (
    ACTIVE_APPOINTMENT_STATUSES,
    Appointment,
    Attendance,
    Enrollment,
    EnrollmentStatus,
    GroupSeries,
    Occurrence,
    Therapist,
    User,
)


@dataclass(frozen=True)
class Visit:
    """One session on the patient's page."""

    start_dt: datetime
    end_dt: datetime
    what: str  # "Appointment with Dana Reyes" or the group's title
    status: str
    tz: str  # the zone it is shown in (the therapist's or the group's)
    appointment_id: int | None = None
    group_id: int | None = None


def _appointments(session: Session, patient_id: int, viewer: User, upcoming: bool,
                  now: datetime, limit: int) -> list[Visit]:
    stmt = select(Appointment, Therapist.name, Therapist.timezone).join(
        Therapist, Therapist.id == Appointment.therapist_id).where(Appointment.patient_id == patient_id,
                                                                   access.visible_appointments(viewer))
    if upcoming:
        stmt = stmt.where(Appointment.end_dt > now, Appointment.status.in_(ACTIVE_APPOINTMENT_STATUSES))
        stmt = stmt.order_by(Appointment.start_dt)
    else:
        stmt = stmt.where(Appointment.start_dt <= now).order_by(Appointment.start_dt.desc())
    return [Visit(a.start_dt, a.end_dt, f"Appointment with {name}", a.status, tz, appointment_id=a.id)
            for a, name, tz in session.execute(stmt.limit(limit))]


def _meetings(session: Session, patient_id: int, viewer: User, upcoming: bool, now: datetime,
              limit: int) -> list[Visit]:
    theirs = access.visible_groups(viewer, Occurrence.group_id)
    if upcoming:
        stmt = select(Occurrence, GroupSeries.title, GroupSeries.timezone).join(
            GroupSeries, GroupSeries.id == Occurrence.group_id).join(
            Enrollment, Enrollment.group_id == Occurrence.group_id).where(
            Enrollment.patient_id == patient_id, Enrollment.status == EnrollmentStatus.ENROLLED,
            Occurrence.end_dt > now, theirs).order_by(Occurrence.start_dt).limit(limit)
        return [Visit(o.start_dt, o.end_dt, title, "cancelled" if o.cancelled else "enrolled", tz,
                         group_id=o.group_id) for o, title, tz in session.execute(stmt)]
    stmt = select(Occurrence, GroupSeries.title, GroupSeries.timezone, Attendance.status).join(
        GroupSeries, GroupSeries.id == Occurrence.group_id).join(
        Attendance, Attendance.occurrence_id == Occurrence.id).where(
        Attendance.patient_id == patient_id, Attendance.status.is_not(None), theirs
    ).order_by(Occurrence.start_dt.desc()).limit(limit)
    return [Visit(o.start_dt, o.end_dt, title, status, tz, group_id=o.group_id)
            for o, title, tz, status in session.execute(stmt)]


def upcoming(session: Session, patient_id: int, now: datetime, viewer: User, limit: int = 20) -> list[Visit]:
    """Appointments still to come and the meetings of the groups the patient is enrolled in, as `viewer` may see."""
    rows = (_appointments(session, patient_id, viewer, True, now, limit)
            + _meetings(session, patient_id, viewer, True, now, limit))
    return sorted(rows, key=lambda s: s.start_dt)[:limit]


def history(session: Session, patient_id: int, now: datetime, viewer: User, limit: int = 30) -> list[Visit]:
    """Past appointments with their outcome and recorded group attendance, newest first, as `viewer` may see."""
    rows = (_appointments(session, patient_id, viewer, False, now, limit)
            + _meetings(session, patient_id, viewer, False, now, limit))
    return sorted(rows, key=lambda s: s.start_dt, reverse=True)[:limit]
