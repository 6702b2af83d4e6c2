"""`/tasks`: the follow-up inbox. Each task names its patient and why; Done, and undo.

A therapist sees the tasks about patients in their care; staff see all, also those about no
patient (a facilitator's clash).
"""
from __future__ import annotations

from flask import redirect, render_template, request, url_for

from scheduler.core import access, audit
from scheduler.core.clock import now
from scheduler.extensions import db
from scheduler.models import Task, TaskKind
from scheduler.aftercare import tasks
from scheduler.web import bp, roles, user
from scheduler.web.forms import FormState
from scheduler.web.helpers import when
from scheduler.web.labels import LABELS
from scheduler.web.posts import Done, not_done, submit


def _visible_task(task_id: int) -> Task:
    """The task, if this user may see it (the same 404 whether or not it exists)."""
    task = tasks.get_task(db.session, task_id)
    hidden = (not access.sees_everyone(user()) if task.patient_id is None
              else not access.may_see_patient(db.session, user(), task.patient_id))
    if hidden:  # audited as a refused look at this task
        raise access.Refused("task not found", entity="task", entity_id=task.id)
    return task


@bp.get("/tasks")
@roles(*access.EVERYONE)
def tasks_list():
    """Open tasks, oldest first, and the ones done lately (to undo a slip); `?kind=` shows one kind."""
    visible, staff = access.visible_patients(user()), access.sees_everyone(user())
    asked = request.args.get("kind", "")
    kind = TaskKind(asked) if asked in TaskKind._value2member_map_ else None
    error = "Choose a kind from the list." if asked and kind is None else None
    open_rows = tasks.open_tasks(db.session, visible, staff, kind=kind)
    done_rows = tasks.recently_done(db.session, visible, staff, kind=kind)
    html = render_template("tasks/list.html", open_rows=open_rows, done_rows=done_rows, why=tasks.why,
                           when=when, kinds=LABELS[TaskKind], kind=kind, kind_error=error)
    audit.commit(db.session, "read", "tasks", None, now())
    return html, 400 if error else 200


@bp.post("/tasks/<id:task_id>/done")
@roles(*access.EVERYONE)
def task_done(task_id: int):
    """Mark done; a second submit changes nothing."""
    def act(clock):
        tasks.mark_done(db.session, _visible_task(task_id), clock)
        return Done(url_for("web.tasks_list"), ("update", "task", task_id))
    return submit(FormState(request.form), act, not_done)


@bp.post("/tasks/<id:task_id>/undo")
@roles(*access.EVERYONE)
def task_undo(task_id: int):
    """Put a done task back in the inbox (already open: nothing to do)."""
    def act(clock):
        tasks.undo(db.session, _visible_task(task_id))
        return Done(url_for("web.tasks_list"), ("update", "task", task_id))
    return submit(FormState(request.form), act, _back)


def _back(state: FormState, status: int):
    """Nothing to show beside a button: back to the inbox, as it now stands."""
    return redirect(url_for("web.tasks_list"))
