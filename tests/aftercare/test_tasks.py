"""The follow-up inbox: open tasks by patient access, done, and undo."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import true

from scheduler.errors import Conflict, NotFound
from scheduler.models import TaskKind, Patient, Task
from scheduler.aftercare import tasks
from tests.support import NOW


def add_task(session, patient_id, kind="reschedule_request", minutes=0):
    task = Task(patient_id=patient_id, kind=kind, detail="Replied R", created_at=NOW + timedelta(minutes=minutes))
    session.add(task)
    session.commit()
    return task.id


def test_open_tasks_oldest_first_only_for_visible_patients(ctx, make_patient):
    mine, theirs = make_patient(name="Ana Mine"), make_patient(name="Bo Theirs")
    later = add_task(ctx, mine, minutes=5)
    first = add_task(ctx, theirs, kind="sms_failed")
    clash = add_task(ctx, None, kind="group_clash", minutes=9)
    assert [t.id for t, _ in tasks.open_tasks(ctx, true(), with_unassigned=True)] == [first, later, clash]
    only_mine = tasks.open_tasks(ctx, Patient.id == mine, with_unassigned=False)
    assert [(t.id, p.name) for t, p in only_mine] == [(later, "Ana Mine")]


def test_done_then_undo(ctx, make_patient):
    task_id = add_task(ctx, make_patient())
    task = tasks.get_task(ctx, task_id)
    tasks.mark_done(ctx, task, NOW)
    tasks.mark_done(ctx, task, NOW + timedelta(minutes=1))  # a double submit keeps the first
    ctx.commit()
    assert tasks.open_tasks(ctx, true(), True) == []
    assert [(t.id, t.done_at) for t, _ in tasks.recently_done(ctx, true(), True)] == [(task_id, NOW)]
    tasks.undo(ctx, tasks.get_task(ctx, task_id))
    ctx.commit()
    assert [t.id for t, _ in tasks.open_tasks(ctx, true(), True)] == [task_id]
    with pytest.raises(Conflict):
        tasks.undo(ctx, tasks.get_task(ctx, task_id))


def test_unknown_task(ctx):
    with pytest.raises(NotFound):
        tasks.get_task(ctx, 999)


@pytest.mark.parametrize(("kind", "why"), [
    ("reschedule_request", "Asked to reschedule (replied R)"),
    ("no_booking_3d", "Discharged 3 days ago and nothing is booked: call to book a first session"),
    ("quiet_14d", "No session attended for 14 days: call to bring them back")])
def test_why_names_the_reason(kind, why):
    assert tasks.why(Task(kind=kind)) == why


def test_every_task_kind_says_why_in_words():
    for kind in TaskKind:
        assert "_" not in tasks.why(Task(kind=kind)), kind
