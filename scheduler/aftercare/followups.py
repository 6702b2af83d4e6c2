"""Catch people before they drop out: the four follow-up tasks, each raised once per cause.

For each active plan (aftercare.plans), days counted in the patient's zone, day 0 = discharge:
- no_booking_3d (cause: the discharge): from day 3, nothing booked or attended since day 0.
- no_attendance_7d (cause: the discharge): day 7 is over and nothing attended on days 1-7.
- missed_twice (cause: the later session): the two latest sessions of the plan with recorded
  attendance, ordered by when they took place (not when they were recorded), were both missed.
- quiet_14d (cause: the last attended session, or the discharge): no attended session for 14 days.
A cause older than 14 days raises nothing, so old data, a backfill or an import stays quiet;
for quiet_14d, which needs 14 days to pass, that is 14 days after the silence began to count.
"Once per cause" is the tasks table's unique (kind, cause): several workers and cron may run
the pass at the same time, and a task marked done comes back only for a new cause.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from scheduler.aftercare import plans
from scheduler.aftercare.progress import ATTENDED, BOOKED, MISSED, RECORDED, Visit, day_start, visits
from scheduler.core import timeutil
from scheduler.core.db import is_postgres
from scheduler.models import Discharge, Patient, Task, TaskKind

LOOKBACK = timedelta(days=14)
MAX_PLAN = timedelta(days=366)


@dataclass(frozen=True)
class Raised:
    """A task to raise: its kind, cause key and reason."""

    kind: str
    cause: str
    reason: str
    appointment_id: int | None = None


def _day(d: date) -> str:
    return f"{d:%b} {d.day}"


def _local(v: Visit, tz: str) -> date:
    return timeutil.local_date_of(v.start_dt, tz)


def due(discharge: Discharge, rows: list[Visit], tz: str, now: datetime) -> list[Raised]:
    """The follow-up tasks an active plan calls for at `now` (`rows`: the patient's sessions since day 0)."""
    today = timeutil.local_date_of(now, tz)
    day0 = discharge.discharge_date
    n = (today - day0).days
    recent = n <= LOOKBACK.days  # the discharge itself is a cause no older than 14 days
    out = []
    if recent and n >= 3 and not any(v.status in BOOKED for v in rows):
        out.append(Raised(TaskKind.NO_BOOKING_3D, f"discharge:{discharge.id}",
                          f"Discharged {_day(day0)}, nothing booked after 3 days"))
    if recent and n >= 8 and not any(v.status in ATTENDED and 1 <= (_local(v, tz) - day0).days <= 7 for v in rows):
        out.append(Raised(TaskKind.NO_ATTENDANCE_7D, f"discharge:{discharge.id}",
                          f"Discharged {_day(day0)}, no session attended in the first 7 days"))
    recorded = [v for v in rows if v.status in RECORDED and v.start_dt <= now]
    if len(recorded) >= 2 and all(v.status in MISSED for v in recorded[-2:]):
        earlier, later = recorded[-2:]
        if later.end_dt > now - LOOKBACK:
            out.append(Raised(TaskKind.MISSED_TWICE, later.cause(discharge.patient_id),
                              f"Missed two sessions in a row ({_day(_local(earlier, tz))} and "
                              f"{_day(_local(later, tz))})", later.appointment_id))
    attended = [v for v in rows if v.status in ATTENDED and v.start_dt <= now]
    since = _local(attended[-1], tz) if attended else day0
    quiet = (today - since).days
    if LOOKBACK.days <= quiet <= 2 * LOOKBACK.days:
        if attended:
            out.append(Raised(TaskKind.QUIET_14D, attended[-1].cause(discharge.patient_id),
                              f"No session attended for 14 days (last {_day(since)})", attended[-1].appointment_id))
        else:
            out.append(Raised(TaskKind.QUIET_14D, f"discharge:{discharge.id}",
                              f"Discharged {_day(day0)}, no session attended in 14 days"))
    return out


def active_plans(session: Session, now: datetime) -> list[tuple[Discharge, Patient]]:
    """Each patient's active plan (an older one ends when a newer discharge is recorded)."""
    utc_today = now.astimezone(timeutil.UTC).date()
    rows = session.execute(select(Discharge, Patient).join(Patient, Patient.id == Discharge.patient_id).where(
        Discharge.ended_at.is_(None), Discharge.discharge_date <= utc_today + timedelta(days=1),
        Discharge.discharge_date >= utc_today - MAX_PLAN - timedelta(days=1))).all()
    newest: dict[int, tuple[Discharge, Patient]] = {}
    for d, p in rows:
        if plans.is_active(d, plans.today_of(p, now)):
            if p.id not in newest or newest[p.id][0].discharge_date < d.discharge_date:
                newest[p.id] = (d, p)
    return list(newest.values())


def run(session: Session, now: datetime) -> dict[str, int]:
    """One pass: raise every follow-up task due now that was not raised before; counts by kind.

    Flushes in the caller's transaction; the caller commits.
    """
    counts = dict.fromkeys((str(k) for k in (TaskKind.NO_BOOKING_3D, TaskKind.NO_ATTENDANCE_7D,
                                             TaskKind.MISSED_TWICE, TaskKind.QUIET_14D)), 0)
    active = active_plans(session, now)
    if not active:
        return counts
    since = min(day_start(d.discharge_date, p.timezone) for d, p in active)
    by_patient = visits(session, [p.id for _, p in active], since)
    for discharge, patient in active:
        start = day_start(discharge.discharge_date, patient.timezone)
        rows = [v for v in by_patient.get(patient.id, []) if v.start_dt >= start]
        for task in due(discharge, rows, patient.timezone, now):
            counts[task.kind] += _raise(session, patient.id, task, now)
    return counts


def _raise(session: Session, patient_id: int, task: Raised, now: datetime) -> int:
    """Insert the task unless its (kind, cause) exists, also when another pass inserts it meanwhile."""
    mod = postgresql if is_postgres(session) else sqlite
    stmt = mod.insert(Task).values(patient_id=patient_id, kind=task.kind, cause=task.cause, detail=task.reason,
                                   appointment_id=task.appointment_id, created_at=now)
    return 1 if session.execute(stmt.on_conflict_do_nothing(index_elements=["kind", "cause"])
                                .returning(Task.id)).first() else 0
