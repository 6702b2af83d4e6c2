"""A no-show at a group meeting becomes a follow-up task, once per meeting and patient."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from scheduler import jobs
from scheduler.models import Task
from scheduler.scheduling import roster
from tests.support import add_group, ny


def test_a_group_no_show_raises_one_no_show_task_per_meeting_and_patient(ctx, make_therapist, make_patient):
    therapist = make_therapist()
    ana, bo, cy = make_patient(name="Ana"), make_patient(name="Bo"), make_patient(name="Cy")
    first = add_group(ctx, therapist, ny(3, 18), enrolled=(ana, bo, cy))
    second = add_group(ctx, therapist, ny(4, 18), enrolled=(ana,))
    marks = [(first, ana, "no_show"), (first, bo, "no_show"), (first, cy, "attended"), (second, ana, "no_show")]
    for group_id, patient_id, status in marks:
        occ = roster.groups.upcoming(ctx, group_id, ny(2, 0))[0]
        roster.record_attendance(ctx, group_id, occ.id, patient_id, status, ny(4, 20))
    ctx.commit()

    assert jobs.no_show_followups(ctx, ny(4, 21)) == 3
    assert jobs.no_show_followups(ctx, ny(5, 21)) == 0  # once per cause
    raised = ctx.execute(select(Task.kind, Task.patient_id, Task.detail).order_by(Task.id)).all()
    assert [(kind, patient) for kind, patient, _ in raised] == [("no_show", ana), ("no_show", bo), ("no_show", ana)]
    assert raised[0].detail == f"Missed group {first}'s meeting on Tue 2026-03-03 at 18:00: call to rebook"
    assert raised[2].detail.startswith(f"Missed group {second}'s meeting on Wed 2026-03-04")


def test_an_old_group_no_show_raises_nothing(ctx, make_therapist, make_patient):
    patient = make_patient()
    group_id = add_group(ctx, make_therapist(), ny(3, 18), enrolled=(patient,))
    occ = roster.groups.upcoming(ctx, group_id, ny(2, 0))[0]
    roster.record_attendance(ctx, group_id, occ.id, patient, "no_show", ny(3, 20))
    ctx.commit()
    assert jobs.no_show_followups(ctx, ny(3, 19) + jobs.FOLLOW_UP_LOOKBACK + timedelta(hours=1)) == 0
