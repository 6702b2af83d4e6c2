"""Group changes after creation: the meetings preview, calling one meeting off, editing a group."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from scheduler.core.settings import current
from scheduler.errors import Conflict, Invalid
from scheduler.messaging import dispatch
from scheduler.models import Message, Patient
from scheduler.scheduling import appointments, group_changes, groups, roster
from tests.support import NOW

NY = "America/New_York"
TUESDAY = datetime(2026, 3, 3, 18, 0)  # local wall time, the Tuesday after NOW, before spring-forward


def make_group(session, facilitator: int, capacity: int = 2, meetings: int = 4):
    group = groups.create_group(session, title="Evening circle", facilitator_id=facilitator, capacity=capacity,
                                local_start=TUESDAY, duration_minutes=60, timezone=NY, now=NOW,
                                rrule=group_changes.weekly_rule(meetings), settings=current())
    session.commit()
    return group


def test_preview_keeps_the_local_hour_across_dst():
    starts = group_changes.preview(TUESDAY, NY, group_changes.weekly_rule(3))
    assert [(s.strftime("%a %b %d %H:%M"), s.utcoffset()) for s in starts] == [
        ("Tue Mar 03 18:00", timedelta(hours=-5)),
        ("Tue Mar 10 18:00", timedelta(hours=-4)),
        ("Tue Mar 17 18:00", timedelta(hours=-4)),
    ]


def test_preview_shows_a_start_in_a_dst_gap_where_the_clock_shows_it():
    (start,) = group_changes.preview(datetime(2026, 3, 8, 2, 30), NY, None)
    assert start.strftime("%H:%M") == "03:30"


def test_preview_of_a_long_series_lists_the_first_twelve():
    assert len(group_changes.preview(TUESDAY, NY, group_changes.weekly_rule(52))) == 12


@pytest.mark.parametrize("meetings", [0, -1, group_changes.MAX_MEETINGS + 1])
def test_weekly_rule_refuses_a_count_out_of_range(meetings):
    with pytest.raises(Invalid) as caught:
        group_changes.weekly_rule(meetings)
    assert "meetings" in caught.value.errors


def test_weekly_rule():
    assert group_changes.weekly_rule(1) is None
    assert group_changes.weekly_rule(8) == "FREQ=WEEKLY;COUNT=8"


def test_cancel_one_meeting_withdraws_its_reminders_and_tells_each_enrolled_patient(
        ctx, make_therapist, make_patient):
    group = make_group(ctx, make_therapist())
    seated, other, waiting = make_patient(), make_patient(), make_patient()
    for pid in (seated, other, waiting):
        roster.enroll(ctx, group.id, pid, NOW, settings=current())
    ctx.commit()
    first, second = groups.next_occurrences(ctx, group, NOW)[:2]
    occ, told = group_changes.cancel_occurrence(ctx, group.id, second.id, NOW, settings=current())
    ctx.commit()
    assert told == 2 and occ.cancelled
    texts = ctx.scalars(select(Message).where(Message.occurrence_id == second.id)).all()
    assert {m.status for m in texts if m.kind == "reminder"} == {"withdrawn"}
    notices = [m for m in texts if m.kind == "cancelled"]
    assert sorted(m.patient_id for m in notices) == sorted([seated, other])
    assert all(m.status == "pending" and m.session_start_dt == second.start_dt for m in notices)
    kept = ctx.scalars(select(Message.status).where(Message.occurrence_id == first.id)).all()
    assert kept and set(kept) == {"pending"}  # the other meetings keep theirs
    with pytest.raises(Conflict, match="already cancelled"):
        group_changes.cancel_occurrence(ctx, group.id, second.id, NOW, settings=current())


def test_the_cancellation_text_names_the_meeting(app, ctx, make_therapist, make_patient):
    therapist, patient = make_therapist(), make_patient()  # before the session holds SQLite's lock
    group = make_group(ctx, therapist)
    roster.enroll(ctx, group.id, patient, NOW, settings=current())
    occ = groups.next_occurrences(ctx, group, NOW)[1]
    group_changes.cancel_occurrence(ctx, group.id, occ.id, NOW, settings=current())
    ctx.commit()
    notice = ctx.scalars(select(Message).where(Message.kind == "cancelled")).one()
    body = dispatch._render(notice, ctx.get(Patient, notice.patient_id), current(), {})
    assert body.startswith("Northside Health: Your appointment on Tue Mar 10 at 6:00 PM is cancelled.")


def test_a_started_meeting_cannot_be_cancelled(ctx, make_therapist):
    group = make_group(ctx, make_therapist())
    first = groups.next_occurrences(ctx, group, NOW)[0]
    with pytest.raises(Conflict, match="already started"):
        group_changes.cancel_occurrence(ctx, group.id, first.id, first.start_dt, settings=current())


def test_raising_capacity_seats_the_waitlist_in_order(ctx, make_therapist, make_patient):
    group = make_group(ctx, make_therapist(), capacity=1)
    a, b, c = make_patient(), make_patient(), make_patient()
    for pid in (a, b, c):
        roster.enroll(ctx, group.id, pid, NOW, settings=current())
    ctx.commit()
    _, promoted = group_changes.update_group(ctx, group.id, {"capacity": 2, "title": "Tuesday circle"}, NOW, settings=current())
    ctx.commit()
    assert [e.patient_id for e in promoted] == [b]
    assert groups.get_group(ctx, group.id).title == "Tuesday circle"


def test_capacity_below_the_seats_taken_is_refused(ctx, make_therapist, make_patient):
    therapist, patients = make_therapist(), [make_patient(), make_patient()]
    group = make_group(ctx, therapist, capacity=3)
    for pid in patients:
        roster.enroll(ctx, group.id, pid, NOW, settings=current())
    ctx.commit()
    with pytest.raises(Invalid) as caught:
        group_changes.update_group(ctx, group.id, {"capacity": 1}, NOW, settings=current())
    assert "2 patients hold a seat" in caught.value.errors["capacity"]


def test_a_busy_facilitator_cannot_take_over(ctx, make_therapist, make_patient):
    facilitator, patient, free = make_therapist(), make_patient(), make_therapist(name="Free Person")
    busy = make_therapist(name="Busy Person", hours=((0, 1, 2, 3, 4, 5, 6), "08:00", "22:00"))
    group = make_group(ctx, facilitator)
    second = groups.next_occurrences(ctx, group, NOW)[1]
    appointments.book(ctx, busy, patient, second.start_dt, 30, NOW, settings=current())
    ctx.commit()
    with pytest.raises(Conflict, match="Tue 2026-03-10"):
        group_changes.update_group(ctx, group.id, {"facilitator_id": busy}, NOW, settings=current())
    ctx.rollback()
    group, _ = group_changes.update_group(ctx, group.id, {"facilitator_id": free}, NOW, settings=current())
    ctx.commit()
    assert group.facilitator_id == free
