"""The follow-up pass: each task kind at its boundary, once per cause, with two workers at once."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from scheduler import jobs
from scheduler.aftercare import followups
from scheduler.extensions import db
from scheduler.models import Task
from tests.support import NOW
from tests.support.aftercare import local
from tests.support.racing import run_together

TODAY = date(2026, 3, 2)  # NOW in New York (07:00)


def ago(days: int) -> date:
    return TODAY - timedelta(days=days)


def tasks(ctx, kind=None) -> list[tuple[str, str, str]]:
    stmt = select(Task.kind, Task.cause, Task.detail).order_by(Task.id)
    if kind:
        stmt = stmt.where(Task.kind == kind)
    return [tuple(r) for r in ctx.execute(stmt)]


def run(ctx, now=NOW) -> dict:
    counts = followups.run(ctx, now)
    ctx.commit()
    return counts


@pytest.mark.parametrize(("days", "raised"), [(2, False), (3, True), (14, True), (15, False)])
def test_no_booking_3d_at_its_boundary(ctx, clinic, days, raised):
    pid = clinic.patient()
    d = clinic.discharge(pid, ago(days))
    run(ctx)
    want = [("no_booking_3d", f"discharge:{d}", f"Discharged {'Feb' if days >= 2 else 'Mar'} "
             f"{ago(days).day}, nothing booked after 3 days")] if raised else []
    assert tasks(ctx, "no_booking_3d") == want


@pytest.mark.parametrize("booked", ["scheduled", "no_show", "attended", "group"])
def test_no_booking_3d_not_when_something_is_booked(ctx, clinic, booked):
    pid = clinic.patient()
    clinic.discharge(pid, ago(4))
    if booked == "group":
        clinic.group(local(TODAY + timedelta(days=2), 18), members=(pid,))
    else:
        clinic.appointment(pid, local(TODAY + timedelta(days=1) if booked == "scheduled" else ago(2), 10), booked)
    run(ctx)
    assert tasks(ctx, "no_booking_3d") == []


def test_no_booking_3d_once_and_back_only_for_a_new_cause(ctx, clinic):
    pid = clinic.patient()
    clinic.discharge(pid, ago(5))
    assert run(ctx)["no_booking_3d"] == 1
    ctx.execute(Task.__table__.update().values(done_at=NOW))
    ctx.commit()
    assert run(ctx)["no_booking_3d"] == 0
    assert run(ctx, NOW + timedelta(hours=5))["no_booking_3d"] == 0
    # Readmitted and discharged again: a new cause, a new task.
    clinic.discharge(pid, ago(3))
    assert run(ctx)["no_booking_3d"] == 1


@pytest.mark.parametrize(("days", "attended_on", "raised"), [
    (7, None, False), (8, None, True), (8, 7, False), (8, 1, False), (8, 0, True), (10, 9, True),
    (14, None, True), (15, None, False),
])
def test_no_attendance_7d_at_its_boundary(ctx, clinic, days, attended_on, raised):
    pid = clinic.patient()
    d = clinic.discharge(pid, ago(days))
    if attended_on is not None:
        clinic.appointment(pid, local(ago(days) + timedelta(days=attended_on), 10), "attended")
    run(ctx)
    assert [c for _, c, _ in tasks(ctx, "no_attendance_7d")] == ([f"discharge:{d}"] if raised else [])


def test_missed_twice_by_when_sessions_took_place_not_when_recorded(ctx, clinic):
    pid = clinic.patient()
    clinic.discharge(pid, ago(10))
    _, (seat,) = clinic.group(local(ago(3), 18), members=(pid,))
    # Recorded out of order: the group no-show (latest) first, the attended session (earliest) last.
    clinic.seat(seat, pid, "no_show")
    later_appt = clinic.appointment(pid, local(ago(5), 10), "late_cancelled")
    clinic.appointment(pid, local(ago(8), 10), "attended")
    run(ctx)
    assert tasks(ctx, "missed_twice") == [
        ("missed_twice", f"occurrence:{seat}:patient:{pid}", "Missed two sessions in a row (Feb 25 and Feb 27)")]
    assert run(ctx)["missed_twice"] == 0
    # Attended after: the two latest are no longer both missed; a new pair is a new cause.
    clinic.appointment(pid, local(ago(2), 10), "attended")
    new = clinic.appointment(pid, local(ago(1), 10), "no_show")
    assert run(ctx)["missed_twice"] == 0
    clinic.appointment(pid, local(ago(1), 14), "no_show")
    assert run(ctx)["missed_twice"] == 1
    assert later_appt and new


def test_missed_twice_not_when_the_later_is_older_than_14_days_or_the_latest_was_attended(ctx, clinic):
    old, fine = clinic.patient(), clinic.patient()
    clinic.discharge(old, ago(40))
    clinic.appointment(old, local(ago(20), 10), "no_show")
    clinic.appointment(old, local(ago(16), 10), "no_show")
    clinic.discharge(fine, ago(10))
    clinic.appointment(fine, local(ago(6), 10), "no_show")
    clinic.appointment(fine, local(ago(4), 10), "attended")
    clinic.appointment(fine, local(ago(5), 10), "no_show")
    run(ctx)
    assert tasks(ctx, "missed_twice") == []


@pytest.mark.parametrize(("last", "raised"), [(13, False), (14, True), (28, True), (29, False)])
def test_quiet_14d_since_the_last_attended_session(ctx, clinic, last, raised):
    pid = clinic.patient()
    clinic.discharge(pid, ago(60))
    appt = clinic.appointment(pid, local(ago(last), 10), "attended")
    run(ctx)
    want = [("quiet_14d", f"appointment:{appt}", f"No session attended for 14 days (last "
             f"{'Feb' if last > 1 else 'Mar'} {ago(last).day})")] if raised else []
    assert tasks(ctx, "quiet_14d") == want


def test_quiet_14d_since_the_discharge_when_nothing_was_attended(ctx, clinic):
    pid = clinic.patient()
    d = clinic.discharge(pid, ago(14))
    clinic.appointment(pid, local(ago(13), 10), "no_show")
    run(ctx)
    assert [c for _, c, _ in tasks(ctx, "quiet_14d")] == [f"discharge:{d}"]


def test_ended_plans_raise_nothing(ctx, clinic):
    ended, ran_out, readmitted = clinic.patient(), clinic.patient(), clinic.patient()
    clinic.discharge(ended, ago(8), ended_reason="declined", ended_at=NOW)
    clinic.discharge(ran_out, ago(14), plan_days=10)
    clinic.discharge(readmitted, ago(9), ended_reason="readmitted", ended_at=NOW)
    clinic.discharge(readmitted, TODAY + timedelta(days=3))  # recorded ahead: not active yet
    for hour, pid in enumerate((ended, ran_out, readmitted), start=9):
        clinic.appointment(pid, local(ago(3), hour), "no_show")
        clinic.appointment(pid, local(ago(2), hour), "no_show")
    run(ctx)
    assert tasks(ctx) == []


def test_two_workers_at_once_raise_each_task_once(app, ctx, clinic):
    for i in range(6):
        pid = clinic.patient()
        clinic.discharge(pid, ago(8 + i))
        clinic.appointment(pid, local(ago(3), 9 + i), "no_show")
        clinic.appointment(pid, local(ago(2), 9 + i), "no_show")
    ctx.close()

    def work(_):
        return jobs.aftercare_followups(db.session, NOW)
    outcomes = run_together(app, work, 2)
    assert all(isinstance(o, dict) for o in outcomes), outcomes
    with app.app_context():
        rows = tasks(db.session)
    # Per patient: no_attendance_7d and missed_twice.
    assert len(rows) == len({(k, c) for k, c, _ in rows}) == 6 + 6
    assert sum(sum(o.values()) for o in outcomes) == len(rows)


def test_the_followups_command_runs_one_pass(app, ctx, clinic, frozen_clock):
    clinic.discharge(clinic.patient(), ago(4))
    ctx.close()
    result = app.test_cli_runner().invoke(args=["followups"])
    assert result.exit_code == 0, result.output
    assert "no_booking_3d=1" in result.output
    with app.app_context():
        assert len(tasks(db.session)) == 1


def test_the_worker_runs_the_pass_every_15_minutes(app):
    import threading

    scheduler = jobs.build_scheduler(app, threading.Event())
    job = scheduler.get_job("aftercare_followups")
    assert job.trigger.interval == timedelta(minutes=15)
