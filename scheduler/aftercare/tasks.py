"""The staff inbox of follow-up tasks: what needs a person (an R reply, an opt-out, a failed text).

Tasks are written where their cause happens (inbound replies, sending, the no-show job, the
waitlist); this module only lists them and marks them done or not done.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from scheduler.errors import Conflict, NotFound
from scheduler.models import Patient, Task, TaskKind

# What each kind asks of staff, in the clinic's words; a task's own detail, where it has one,
# says more (the aftercare follow-ups name the discharge date and the days since).
WHY: dict[TaskKind, str] = {
    TaskKind.RESCHEDULE_REQUEST: "Asked to reschedule (replied R)",
    TaskKind.OPT_OUT: "Opted out of texts",
    TaskKind.CONSENT_NEEDED: "Asked for texts, but no consent is on record",
    TaskKind.UNRECOGNIZED_REPLY: "Sent a reply nobody understood",
    TaskKind.SMS_FAILED: "A text could not be delivered",
    TaskKind.NO_SHOW: "Missed a session",
    TaskKind.ATTENDANCE_MISSING: "No attendance recorded",
    TaskKind.GROUP_CLASH: "A group meeting clashes with the facilitator's calendar",
    TaskKind.WAITLIST_CLASH: "A group seat is free, but a session clashes",
    TaskKind.NO_BOOKING_3D: "Discharged 3 days ago and nothing is booked: call to book a first session",
    TaskKind.NO_ATTENDANCE_7D: "No session attended in the 7 days after discharge: call to bring them in",
    TaskKind.MISSED_TWICE: "Missed two sessions in a row: call before they drop out",
    TaskKind.QUIET_14D: "No session attended for 14 days: call to bring them back",
}


def why(task: Task) -> str:
    """The reason a task is in the inbox, for a person."""
    return WHY[TaskKind(task.kind)]


def _listed(visible: ColumnElement[bool], with_unassigned: bool, kind: TaskKind | None):
    """Tasks with their patients, only patients `visible` allows (and of one `kind`, when given).

    Tasks about no patient (a facilitator's clash) are listed only `with_unassigned`.
    """
    about_patient = Task.patient_id.is_not(None) & visible
    keep = (about_patient | Task.patient_id.is_(None)) if with_unassigned else about_patient
    stmt = select(Task, Patient).outerjoin(Patient, Patient.id == Task.patient_id).where(keep)
    return stmt if kind is None else stmt.where(Task.kind == kind)


def open_tasks(session: Session, visible: ColumnElement[bool], with_unassigned: bool,
               limit: int = 200, kind: TaskKind | None = None) -> list[tuple[Task, Patient | None]]:
    """Open tasks, oldest first, each with its patient."""
    stmt = (_listed(visible, with_unassigned, kind).where(Task.done_at.is_(None))
            .order_by(Task.created_at, Task.id).limit(limit))
    return [(task, patient) for task, patient in session.execute(stmt)]


def recently_done(session: Session, visible: ColumnElement[bool], with_unassigned: bool,
                  limit: int = 20, kind: TaskKind | None = None) -> list[tuple[Task, Patient | None]]:
    """The tasks done most recently, newest first, so a slip of the finger can be undone."""
    stmt = (_listed(visible, with_unassigned, kind).where(Task.done_at.is_not(None))
            .order_by(Task.done_at.desc(), Task.id.desc()).limit(limit))
    return [(task, patient) for task, patient in session.execute(stmt)]


def get_task(session: Session, task_id: int) -> Task:
    """The task, or 404."""
    task = session.get(Task, task_id, with_for_update=True)
    if task is None:
        raise NotFound("task not found")
    return task


def mark_done(session: Session, task: Task, now: datetime) -> None:
    """Done; a second click (or a double submit) changes nothing."""
    if task.done_at is None:
        task.done_at = now
        session.flush()


def undo(session: Session, task: Task) -> None:
    """Back in the inbox; 409 when it was not done."""
    if task.done_at is None:
        raise Conflict("this task is still open", field="task")
    task.done_at = None
    session.flush()
