"""Task routes: the follow-up tasks the caller may see."""
from __future__ import annotations

from flask import g

from scheduler import schemas
from scheduler.aftercare import inbox
from scheduler.api import audited, bp, endpoint, roles
from scheduler.core import access, timeutil
from scheduler.extensions import db
from scheduler.models import Task
from scheduler.models.enums import Role


def task_json(t: Task) -> dict:
    return {"id": t.id, "kind": t.kind, "patient_id": t.patient_id, "reason": inbox.reason(t),
            "created_at": timeutil.iso(t.created_at), "done_at": timeutil.iso(t.done_at)}


@bp.get("/tasks")
@roles(Role.ADMIN, Role.COORDINATOR, Role.THERAPIST)
@endpoint(schemas.Tasks, query=schemas.TasksQuery)
def list_tasks(query: schemas.TasksQuery):
    """Tasks by ?kind=&patient_id=&open=true; a therapist sees those about patients in their care.

    A patient_id the caller may not see, or that names nobody, lists nothing (the same answer).
    """
    rows = inbox.find(db.session, access.visible_patients(g.user), access.sees_everyone(g.user),
                      kind=query.kind, patient_id=query.patient_id, open_=query.open)
    return audited("read", "tasks", query.patient_id, {"tasks": [task_json(t) for t in rows]})
