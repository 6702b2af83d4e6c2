"""The waitlist after a clash: the longest-waiting patient who can attend gets the seat, and a
seat is never left empty while someone who can take it waits."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from scheduler.core.settings import current
from scheduler.extensions import db
from scheduler.models import Enrollment, Message, Task
from scheduler.scheduling import appointments, groups, roster
from tests.support import NOW, racing

NY = ZoneInfo("America/New_York")
FIRST = datetime(2026, 3, 3, 10, 0)                 # Tuesdays 10:00-11:00 New York, four times
SECOND = datetime(2026, 3, 10, 10, 0, tzinfo=NY)


@pytest.fixture
def clinic(ctx, make_therapist, make_patient):
    """A one-seat group: A holds the seat, B waits and is booked elsewhere at the second meeting."""
    facilitator, other = make_therapist(name="Lee"), make_therapist(name="Kim")
    a, b, c, d = (make_patient(name=n) for n in "ABCD")
    group = new_group(ctx, facilitator, FIRST)
    roster.enroll(ctx, group, a, NOW, settings=current())
    roster.enroll(ctx, group, b, NOW + timedelta(seconds=1), settings=current())
    clash = appointments.book(ctx, other, b, SECOND, 50, NOW, settings=current()).id  # read before the commit expires it
    ctx.commit()
    return {"group": group, "facilitator": facilitator, "other": other, "a": a, "b": b, "c": c, "d": d,
            "clash": clash}


def new_group(ctx, facilitator, first, title="Morning circle"):
    return groups.create_group(ctx, title=title, facilitator_id=facilitator, capacity=1, local_start=first,
                               duration_minutes=60, timezone="America/New_York",
                               rrule="FREQ=WEEKLY;COUNT=4", now=NOW, settings=current()).id


def status(ctx, group, patient):
    return ctx.scalar(select(Enrollment.status).where(Enrollment.group_id == group, Enrollment.patient_id == patient,
                                                      Enrollment.status != "dropped"))


def promoted_texts(ctx, patient):
    return ctx.scalar(select(func.count()).select_from(Message).where(
        Message.patient_id == patient, Message.kind == "waitlist_promoted"))


def drop(ctx, group, patient, now=NOW):
    _, promoted = roster.drop(ctx, group, patient, now, settings=current())
    ctx.commit()
    return [e.patient_id for e in promoted]


def test_a_seat_passed_by_for_a_clash_is_offered_again_when_the_appointment_is_cancelled(ctx, clinic):
    assert drop(ctx, clinic["group"], clinic["a"]) == []
    assert status(ctx, clinic["group"], clinic["b"]) == "waitlisted"
    appointments.cancel(ctx, clinic["clash"], NOW, settings=current())
    ctx.commit()
    assert status(ctx, clinic["group"], clinic["b"]) == "enrolled"
    assert promoted_texts(ctx, clinic["b"]) == 1


def test_and_when_it_is_moved_away(ctx, clinic):
    drop(ctx, clinic["group"], clinic["a"])
    appointments.reschedule(ctx, clinic["clash"], NOW, start=SECOND + timedelta(hours=3), settings=current())
    ctx.commit()
    assert status(ctx, clinic["group"], clinic["b"]) == "enrolled"


def test_moving_it_onto_another_meeting_keeps_the_patient_waiting(ctx, clinic):
    drop(ctx, clinic["group"], clinic["a"])
    appointments.reschedule(ctx, clinic["clash"], NOW, start=SECOND + timedelta(weeks=1), settings=current())
    ctx.commit()
    assert status(ctx, clinic["group"], clinic["b"]) == "waitlisted"
    tasks = ctx.scalars(select(Task).where(Task.kind == "waitlist_clash")).all()
    assert [t.patient_id for t in tasks] == [clinic["b"]]  # one open task, however often it is re-offered


def test_a_newcomer_takes_a_seat_nobody_waiting_can_use(ctx, clinic):
    drop(ctx, clinic["group"], clinic["a"])
    assert roster.enroll(ctx, clinic["group"], clinic["c"], NOW, settings=current()).status == "enrolled"
    ctx.commit()
    assert status(ctx, clinic["group"], clinic["b"]) == "waitlisted"


def test_a_newcomer_never_jumps_a_waiting_patient_who_can_now_attend(ctx, clinic):
    """The clashing appointment is past once the second meeting is over: nothing else re-offered
    the seat, so the next enrollment attempt does, and the newcomer queues behind."""
    drop(ctx, clinic["group"], clinic["a"])
    later = SECOND + timedelta(hours=2)
    newcomer = roster.enroll(ctx, clinic["group"], clinic["c"], later, settings=current())
    ctx.commit()
    assert newcomer.status == "waitlisted" and roster.waitlist_position(ctx, newcomer) == 1
    assert status(ctx, clinic["group"], clinic["b"]) == "enrolled"
    assert promoted_texts(ctx, clinic["b"]) == 1


def test_the_longest_waiting_who_can_attend_gets_the_seat(ctx, clinic):
    roster.enroll(ctx, clinic["group"], clinic["c"], NOW + timedelta(seconds=2), settings=current())
    roster.enroll(ctx, clinic["group"], clinic["d"], NOW + timedelta(seconds=3), settings=current())
    ctx.commit()
    assert drop(ctx, clinic["group"], clinic["a"]) == [clinic["c"]]
    assert status(ctx, clinic["group"], clinic["d"]) == "waitlisted"
    assert drop(ctx, clinic["group"], clinic["c"]) == [clinic["d"]]
    appointments.cancel(ctx, clinic["clash"], NOW, settings=current())  # no seat free now: B simply keeps waiting, first
    ctx.commit()
    assert status(ctx, clinic["group"], clinic["b"]) == "waitlisted"
    assert drop(ctx, clinic["group"], clinic["d"]) == [clinic["b"]]


def test_leaving_a_group_at_the_same_hour_frees_the_seat_in_the_other(ctx, clinic, make_therapist):
    """B waits for one group and meanwhile joined another at the same hour; leaving it offers the seat."""
    appointments.cancel(ctx, clinic["clash"], NOW, settings=current())
    ctx.commit()
    other_group = new_group(ctx, make_therapist(name="Ray"), FIRST, title="Other circle")
    assert roster.enroll(ctx, other_group, clinic["b"], NOW, settings=current()).status == "enrolled"
    ctx.commit()
    assert drop(ctx, clinic["group"], clinic["a"]) == []  # B is busy at every meeting now
    assert drop(ctx, other_group, clinic["b"]) == [clinic["b"]]
    assert status(ctx, clinic["group"], clinic["b"]) == "enrolled"


def test_a_cancellation_racing_a_drop_still_seats_the_patient(app, ctx, clinic):
    def work(i: int):
        if i == 0:
            roster.drop(db.session, clinic["group"], clinic["a"], NOW, settings=current())
        else:
            appointments.cancel(db.session, clinic["clash"], NOW, settings=current())
        db.session.commit()
        return "ok"

    ctx.rollback()  # on SQLite an open transaction would hold the write lock
    assert racing.run_together(app, work, 2) == ["ok", "ok"]
    ctx.rollback()
    assert status(ctx, clinic["group"], clinic["b"]) == "enrolled"


def test_a_booking_racing_a_promotion_never_double_books(app, ctx, clinic):
    third = SECOND + timedelta(weeks=1)
    appointments.cancel(ctx, clinic["clash"], NOW, settings=current())
    ctx.commit()

    def work(i: int):
        if i == 0:
            roster.drop(db.session, clinic["group"], clinic["a"], NOW, settings=current())
        else:
            appointments.book(db.session, clinic["other"], clinic["b"], third, 50, NOW, settings=current())
        db.session.commit()
        return "ok"

    ctx.rollback()
    outcomes = racing.run_together(app, work, 2)
    ctx.rollback()
    seated = status(ctx, clinic["group"], clinic["b"]) == "enrolled"
    assert outcomes[0] == "ok" and (outcomes[1] == "ok") != seated, outcomes
