"""How a plan is going: sessions planned, attended and missed, and whether the discharge was followed up.

Everything counts in the patient's zone; day 0 is the discharge date.
- planned by a day = (individual_per_week + groups_per_week) x ceil(min(days since discharge, plan_days) / 7)
- attended / missed: appointments and group seats marked attended / no_show or late_cancelled,
  each counted for the newest plan whose days (0 .. plan_days) it falls in.
- follow-up: an attended session on day 1-7 (1-30); the reason explains a missing 7-day one,
  as the follow-up report does.
Group meetings count through their attendance rows, so a group no-show is a missed session
however it was recorded.
"""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from scheduler.aftercare import plans
from scheduler.core import timeutil
from scheduler.models import (
    Appointment,
    AppointmentStatus,
    Attendance,
    Discharge,
    Enrollment,
    EnrollmentStatus,
    Occurrence,
    Patient,
)

ATTENDED = frozenset({AppointmentStatus.ATTENDED})
MISSED = frozenset({AppointmentStatus.NO_SHOW, AppointmentStatus.LATE_CANCELLED})
RECORDED = ATTENDED | MISSED
ENROLLED = "enrolled"  # a meeting of a group the patient holds a seat in, attendance not recorded
# Something is booked: a live appointment or seat, or one that took place (attended or not).
BOOKED = frozenset({AppointmentStatus.SCHEDULED, AppointmentStatus.CONFIRMED, AppointmentStatus.ATTENDED,
                    AppointmentStatus.NO_SHOW, ENROLLED})


@dataclass(frozen=True)
class Visit:
    """One appointment or group seat of a patient, with its outcome (or `enrolled`)."""

    start_dt: datetime
    end_dt: datetime
    status: str
    appointment_id: int | None = None
    occurrence_id: int | None = None

    def cause(self, patient_id: int) -> str:
        """A stable name for this patient's session (tasks.cause): an appointment, or a seat at a meeting."""
        return (f"appointment:{self.appointment_id}" if self.appointment_id is not None
                else f"occurrence:{self.occurrence_id}:patient:{patient_id}")


def day_start(day: date, tz: str) -> datetime:
    """The instant local `day` begins in zone `tz` (as UTC)."""
    return datetime.combine(day, time(0), tzinfo=timeutil.zone(tz)).astimezone(timeutil.UTC)


def visits(session: Session, patient_ids, since: datetime) -> dict[int, list[Visit]]:
    """Each patient's appointments and group seats starting at or after `since`, by start.

    A seat is its attendance row when one has a status; otherwise a meeting of a group the
    patient is enrolled in counts as `enrolled` (booked, nothing recorded yet).
    """
    ids = list(patient_ids)
    out: dict[int, list[Visit]] = defaultdict(list)
    if not ids:
        return out
    for a in session.execute(select(Appointment.patient_id, Appointment.start_dt, Appointment.end_dt,
                                    Appointment.status, Appointment.id).where(
            Appointment.patient_id.in_(ids), Appointment.start_dt >= since)):
        out[a.patient_id].append(Visit(a.start_dt, a.end_dt, a.status, appointment_id=a.id))
    recorded: set[tuple[int, int]] = set()
    for r in session.execute(select(Attendance.patient_id, Occurrence.start_dt, Occurrence.end_dt,
                                    Attendance.status, Occurrence.id).join(
            Occurrence, Occurrence.id == Attendance.occurrence_id).where(
            Attendance.patient_id.in_(ids), Attendance.status.is_not(None), Occurrence.cancelled.is_(False),
            Occurrence.start_dt >= since)):
        recorded.add((r.patient_id, r.id))
        out[r.patient_id].append(Visit(r.start_dt, r.end_dt, r.status, occurrence_id=r.id))
    for r in session.execute(select(Enrollment.patient_id, Occurrence.start_dt, Occurrence.end_dt,
                                    Occurrence.id).join(
            Occurrence, and_(Occurrence.group_id == Enrollment.group_id, Occurrence.cancelled.is_(False))).where(
            Enrollment.patient_id.in_(ids), Enrollment.status == EnrollmentStatus.ENROLLED,
            Occurrence.start_dt >= since)):
        if (r.patient_id, r.id) not in recorded:
            out[r.patient_id].append(Visit(r.start_dt, r.end_dt, ENROLLED, occurrence_id=r.id))
    for rows in out.values():
        rows.sort(key=lambda v: (v.start_dt, v.appointment_id or 0, v.occurrence_id or 0))
    return out


def planned(discharge: Discharge, today: date) -> int:
    """Sessions planned by `today`: a week's worth on days 1-7, two weeks' on days 8-14, ..."""
    days = min(max((today - discharge.discharge_date).days, 0), discharge.plan_days)
    return (discharge.individual_per_week + discharge.groups_per_week) * math.ceil(days / 7)


def newest_plan(discharges: list[Discharge], day: date) -> Discharge | None:
    """The newest plan whose days (0 .. plan_days) hold local date `day`."""
    holding = [d for d in discharges if d.discharge_date <= day <= plans.last_day(d)]
    return max(holding, key=lambda d: d.discharge_date, default=None)


def follow_up(discharge: Discharge, rows: list[Visit], tz: str, today: date) -> dict:
    """{within_7d, within_30d, reason}; reason is null when followed up within 7 days, else the
    first that applies: pending, too_late, same_day_only, no_show, cancelled, nothing_booked."""
    day0 = discharge.discharge_date

    def days(status_set) -> list[int]:
        return [(timeutil.local_date_of(v.start_dt, tz) - day0).days for v in rows if v.status in status_set]

    attended = days(ATTENDED)
    within_7d = any(1 <= n <= 7 for n in attended)
    within_30d = any(1 <= n <= 30 for n in attended)
    reason = None
    if not within_7d:
        if today <= day0 + timedelta(days=7):
            reason = "pending"
        elif any(n >= 8 for n in attended):
            reason = "too_late"
        elif 0 in attended:
            reason = "same_day_only"
        elif any(1 <= n <= 7 for n in days(MISSED)):
            reason = "no_show"
        elif any(1 <= n <= 7 for n in days({AppointmentStatus.CANCELLED})):
            reason = "cancelled"
        else:
            reason = "nothing_booked"
    return {"within_7d": within_7d, "within_30d": within_30d, "reason": reason}


def of_patient(session: Session, patient: Patient, discharges: list[Discharge], now: datetime) -> dict[int, dict]:
    """Progress of each of the patient's plans, by discharge id (see the module docstring)."""
    if not discharges:
        return {}
    tz, today = patient.timezone, plans.today_of(patient, now)
    since = day_start(min(d.discharge_date for d in discharges), tz)
    rows = visits(session, [patient.id], since).get(patient.id, [])
    mine: dict[int, list[Visit]] = defaultdict(list)
    for v in rows:
        plan = newest_plan(discharges, timeutil.local_date_of(v.start_dt, tz))
        if plan is not None:
            mine[plan.id].append(v)
    out = {}
    for d in discharges:
        attended = [v for v in mine[d.id] if v.status in ATTENDED]
        last = timeutil.local_date_of(attended[-1].start_dt, tz) if attended else None
        out[d.id] = {
            "planned": planned(d, today),
            "attended": len(attended),
            "missed": sum(1 for v in mine[d.id] if v.status in MISSED),
            "last_attended": last,
            "days_since_last": (today - last).days if last else None,
            "active": plans.is_active(d, today),
            "follow_up": follow_up(d, [v for v in rows if v.start_dt >= day_start(d.discharge_date, tz)], tz, today),
        }
    return out
