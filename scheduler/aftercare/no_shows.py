"""No-shows at group meetings become follow-up tasks, as appointment no-shows do (jobs.py).

One `no_show` task per (meeting, patient). The tasks table has no column for a meeting, so the
task's detail names it (group id and the meeting's local start, which never change) and is the
key: the job runs one worker at a time (jobs._take_turn), so reading before adding is enough.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduler.models import AppointmentStatus, Attendance, GroupSeries, Occurrence, Task, TaskKind
from scheduler.scheduling.groups import meeting_time


def detail(occurrence: Occurrence, tz: str) -> str:
    """What the task says, and its key: the group and the meeting, by ids and local time only."""
    return f"Missed group {occurrence.group_id}'s meeting on {meeting_time(occurrence, tz)}: call to rebook"


def group_no_show_tasks(session: Session, now: datetime, since: datetime) -> int:
    """Add a `no_show` task for each no-show at a meeting that ended after `since`, once; returns how many."""
    rows = session.execute(select(Attendance.patient_id, Occurrence, GroupSeries.timezone)
                           .join(Occurrence, Occurrence.id == Attendance.occurrence_id)
                           .join(GroupSeries, GroupSeries.id == Occurrence.group_id)
                           .where(Attendance.status == AppointmentStatus.NO_SHOW, Occurrence.end_dt > since,
                                  Occurrence.cancelled.is_(False))).all()
    if not rows:
        return 0
    patients = {patient_id for patient_id, _, _ in rows}
    raised = set(session.execute(select(Task.patient_id, Task.detail).where(
        Task.kind == TaskKind.NO_SHOW, Task.appointment_id.is_(None), Task.patient_id.in_(patients))).all())
    added = 0
    for patient_id, occ, tz in rows:
        text = detail(occ, tz)
        if (patient_id, text) not in raised:
            raised.add((patient_id, text))
            session.add(Task(patient_id=patient_id, kind=TaskKind.NO_SHOW, detail=text, created_at=now))
            added += 1
    return added
