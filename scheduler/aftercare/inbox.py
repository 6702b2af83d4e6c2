"""The task list as the API answers it: filtered by kind, patient and open/done, for one caller."""
from __future__ import annotations

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from scheduler.models import Patient, Task
from scheduler.aftercare.tasks import why

LIMIT = 1000  # newest first; a clinic's open inbox is far smaller


def reason(task: Task) -> str:
    """Why the task exists, in words a coordinator understands."""
    return task.detail or why(task)


def find(session: Session, visible: ColumnElement[bool], with_unassigned: bool, *, kind: str | None = None,
         patient_id: int | None = None, open_: bool | None = None) -> list[Task]:
    """Tasks about patients `visible` allows (and about no patient, `with_unassigned`), newest first."""
    about_patient = Task.patient_id.in_(select(Patient.id).where(visible))
    keep = (about_patient | Task.patient_id.is_(None)) if with_unassigned and patient_id is None else about_patient
    stmt = select(Task).where(keep).order_by(Task.created_at.desc(), Task.id.desc()).limit(LIMIT)
    if kind is not None:
        stmt = stmt.where(Task.kind == kind)
    if patient_id is not None:
        stmt = stmt.where(Task.patient_id == patient_id)
    if open_ is not None:
        stmt = stmt.where(Task.done_at.is_(None) if open_ else Task.done_at.is_not(None))
    return list(session.scalars(stmt))
