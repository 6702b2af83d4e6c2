"""Discharges and the aftercare plans they start: record, change, end, and whether a plan is active.

A plan is active from its discharge date through day `plan_days` (day 0 is the discharge date,
counted in the patient's zone), unless it ended earlier: when a newer discharge of the same
person is recorded (the older plan ends as `readmitted`), or when staff end it with a reason.
A plan that ran its days simply stops being active; it has no ended_reason.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduler.core import timeutil
from scheduler.core.db import lock
from scheduler.errors import Conflict, Invalid, NotFound
from scheduler.models import Discharge, Patient
from scheduler.models.enums import PLAN_END_REASONS, PlanEndReason

# A discharge may be entered a little ahead (aftercare is planned before someone leaves),
# but not so far that it is surely a typo.
MAX_AHEAD = timedelta(days=30)
EARLIEST = date(2000, 1, 1)
DEFAULT_PLAN_DAYS, DEFAULT_PER_WEEK = 90, 1


def today_of(patient: Patient, now: datetime) -> date:
    """The patient's local calendar date at `now`."""
    return timeutil.local_date_of(now, patient.timezone)


def last_day(discharge: Discharge) -> date:
    """The plan's last day (day plan_days)."""
    # plan_days is None on a discharge not yet flushed (the column default fills it in).
    return discharge.discharge_date + timedelta(days=discharge.plan_days or DEFAULT_PLAN_DAYS)


def is_active(discharge: Discharge, today: date) -> bool:
    """Not ended, and `today` (the patient's) is on day 0 .. plan_days of the plan."""
    return discharge.ended_at is None and discharge.discharge_date <= today <= last_day(discharge)


def weekly_sessions_left(patient: Patient, first_day: date, now: datetime) -> int | None:
    """How many weekly sessions from `first_day` fall within the patient's active plan (None without one)."""
    today = today_of(patient, now)
    active = [d for d in patient.discharges if is_active(d, today)]
    if not active:
        return None
    last = last_day(max(active, key=lambda d: d.discharge_date))
    return (last - first_day).days // 7 + 1 if first_day <= last else 0


def check_date(day: date, patient: Patient, now: datetime, field: str = "date") -> None:
    """422 naming `field` for a date before 2000 or more than 30 days ahead in the patient's zone."""
    if day < EARLIEST:
        raise Invalid({field: "is too far in the past"})
    if day > today_of(patient, now) + MAX_AHEAD:
        raise Invalid({field: "must not be more than 30 days ahead"})


def readmit_older(patient: Patient, now: datetime) -> list[Discharge]:
    """End every still-active plan older than the patient's newest discharge as `readmitted`."""
    if not patient.discharges:
        return []
    newest = max(patient.discharges, key=lambda d: d.discharge_date)
    today = today_of(patient, now)
    ended = []
    for d in patient.discharges:
        # A plan that already ran its days ended on its own; it is not re-labelled.
        if d is not newest and d.ended_at is None and today <= last_day(d):
            d.ended_at, d.ended_reason = now, PlanEndReason.READMITTED
            ended.append(d)
    return ended


def record(session: Session, patient_id: int, day: date, now: datetime, *,
           plan_days: int = DEFAULT_PLAN_DAYS, individual_per_week: int = DEFAULT_PER_WEEK,
           groups_per_week: int = DEFAULT_PER_WEEK, field: str = "date") -> tuple[Discharge, bool]:
    """Record a discharge with its plan; (discharge, True) when new, (the existing one, False)
    when the patient already has one on that date (nothing changes then)."""
    patient = lock(session, Patient, patient_id, "patient")
    check_date(day, patient, now, field)
    for existing in patient.discharges:
        if existing.discharge_date == day:
            return existing, False
    discharge = Discharge(discharge_date=day, plan_days=plan_days, individual_per_week=individual_per_week,
                          groups_per_week=groups_per_week)
    patient.discharges.append(discharge)
    readmit_older(patient, now)
    session.flush()
    return discharge, True


def get(session: Session, discharge_id: int) -> Discharge:
    """The discharge, or 404."""
    discharge = session.get(Discharge, discharge_id)
    if discharge is None:
        raise NotFound("discharge not found")
    return discharge


def update(session: Session, discharge_id: int, changes: dict, now: datetime) -> Discharge:
    """Change the date or the plan (plan_days, individual_per_week, groups_per_week) as given."""
    if not changes:
        raise Invalid({"body": "give at least one of date, plan_days, individual_per_week, groups_per_week"})
    discharge = get(session, discharge_id)
    patient = lock(session, Patient, discharge.patient_id, "patient")
    discharge = lock(session, Discharge, discharge_id, "discharge")
    if "date" in changes and changes["date"] != discharge.discharge_date:
        check_date(changes["date"], patient, now)
        if session.scalar(select(Discharge.id).where(Discharge.patient_id == patient.id,
                                                     Discharge.discharge_date == changes["date"])):
            raise Conflict("this patient already has a discharge on that date", field="date")
        discharge.discharge_date = changes["date"]
    for name in ("plan_days", "individual_per_week", "groups_per_week"):
        if name in changes:
            setattr(discharge, name, changes[name])
    session.flush()
    session.refresh(patient, ["discharges"])
    readmit_older(patient, now)
    session.flush()
    return discharge


def end(session: Session, discharge_id: int, reason: str, now: datetime) -> Discharge:
    """Staff end the plan with a reason; 409 when it has already ended or ran its days."""
    if reason not in PLAN_END_REASONS:
        raise Invalid({"reason": "must be one of: " + ", ".join(PLAN_END_REASONS)})
    discharge = get(session, discharge_id)
    patient = lock(session, Patient, discharge.patient_id, "patient")
    discharge = lock(session, Discharge, discharge_id, "discharge")
    if discharge.ended_at is not None:
        raise Conflict(f"this plan has already ended ({discharge.ended_reason})", field="reason")
    if today_of(patient, now) > last_day(discharge):
        raise Conflict(f"this plan already ran its {discharge.plan_days} days", field="reason")
    discharge.ended_at, discharge.ended_reason = now, reason
    session.flush()
    return discharge


def of_patient(session: Session, patient_id: int) -> list[Discharge]:
    """The patient's discharges, newest first."""
    return list(session.scalars(select(Discharge).where(Discharge.patient_id == patient_id)
                                .order_by(Discharge.discharge_date.desc(), Discharge.id.desc())))
