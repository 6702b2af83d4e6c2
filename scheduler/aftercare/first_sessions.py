"""A first session within 7 days: the earliest free slots and group seats after a discharge.

The window runs from the start of day 1 after the discharge (or from now, if later) to the end
of day `within_days`, both in the patient's zone. Slots are the therapists' free slots
(scheduling.availability, fed by scheduling.busy) that also leave the patient free; the care
team's therapists come first, then the rest, each part earliest first. Booking a slot or a
seat goes through the ordinary booking and enrollment, with their locks and texts.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from scheduler.aftercare.progress import day_start
from scheduler.core import timeutil
from scheduler.models import (
    Discharge,
    Enrollment,
    EnrollmentStatus,
    GroupSeries,
    Occurrence,
    Patient,
    Therapist,
    User,
)
from scheduler.models.enums import Role
from scheduler.scheduling import availability, busy, therapists

PER_THERAPIST = 6  # slots offered per therapist: enough to choose from, few enough to read


def window(discharge: Discharge, tz: str, now: datetime, within_days: int) -> tuple[datetime, datetime]:
    """[start of day 1 or now, end of day `within_days`) in zone `tz`, as UTC instants."""
    start = max(day_start(discharge.discharge_date + timedelta(days=1), tz), now)
    return start, day_start(discharge.discharge_date + timedelta(days=within_days + 1), tz)


def _spread(slots: list[tuple[datetime, datetime]], limit: int) -> list[tuple[datetime, datetime]]:
    """The earliest slots that do not overlap one another (09:00, 10:00, ... rather than 09:00, 09:15)."""
    out: list[tuple[datetime, datetime]] = []
    for start, end in slots:
        if not out or start >= out[-1][1]:
            out.append((start, end))
            if len(out) == limit:
                break
    return out


def _therapists(session: Session, user: User) -> list[Therapist]:
    stmt = select(Therapist).options(selectinload(Therapist.rules)).order_by(Therapist.id)
    if user.role == Role.THERAPIST:  # a therapist sees and books only their own calendar
        stmt = stmt.where(Therapist.id == user.therapist_id)
    return list(session.scalars(stmt))


def _groups(session: Session, patient_id: int, start: datetime, end: datetime, user: User) -> list[dict]:
    """Meetings in [start, end) of groups with a free seat that the patient is not in yet."""
    taken = (select(Enrollment.group_id, func.count().label("n"))
             .where(Enrollment.status == EnrollmentStatus.ENROLLED).group_by(Enrollment.group_id).subquery())
    already = select(Enrollment.group_id).where(Enrollment.patient_id == patient_id,
                                                Enrollment.status != EnrollmentStatus.DROPPED)
    stmt = (select(Occurrence, GroupSeries.capacity - func.coalesce(taken.c.n, 0))
            .join(GroupSeries, GroupSeries.id == Occurrence.group_id)
            .outerjoin(taken, taken.c.group_id == GroupSeries.id)
            .where(Occurrence.start_dt >= start, Occurrence.start_dt < end, Occurrence.cancelled.is_(False),
                   GroupSeries.capacity > func.coalesce(taken.c.n, 0), GroupSeries.id.not_in(already))
            .order_by(Occurrence.start_dt, Occurrence.id))
    if user.role == Role.THERAPIST:
        stmt = stmt.where(GroupSeries.facilitator_id == user.therapist_id)
    return [{"group_id": occ.group_id, "occurrence_id": occ.id, "start": occ.start_dt, "seats_left": int(left)}
            for occ, left in session.execute(stmt)]


def find(session: Session, discharge: Discharge, now: datetime, *, within_days: int, duration_minutes: int,
         user: User) -> dict:
    """{slots: [{therapist_id, start, end}], groups: [{group_id, occurrence_id, start, seats_left}]},
    times as ISO 8601 in the patient's zone."""
    patient = session.get(Patient, discharge.patient_id)
    tz = patient.timezone
    start, end = window(discharge, tz, now, within_days)
    if end <= start:
        return {"slots": [], "groups": []}
    duration = timedelta(minutes=duration_minutes)
    patient_busy = busy.patient_intervals(session, patient.id, start, end)
    team = set(patient.therapist_ids)
    found = []
    for t in _therapists(session, user):
        if not t.rules:
            continue
        taken = busy.therapist_intervals(session, t.id, start, end) + patient_busy
        off = therapists.exception_intervals(session, t.id, start, end)
        free = [(s, e) for s, e in availability.free_slots(therapists.weekly_rules(t), t.timezone, off, taken,
                                                           start, end, duration, therapists.SLOT_STEP) if s > now]
        found += [(t.id not in team, s, t.id, e) for s, e in _spread(free, PER_THERAPIST)]
    found.sort()
    return {
        "slots": [{"therapist_id": tid, "start": timeutil.iso(s, tz), "end": timeutil.iso(e, tz)}
                  for _, s, tid, e in found],
        "groups": [{**g, "start": timeutil.iso(g["start"], tz)} for g in _groups(session, patient.id, start, end, user)],
    }
