"""Group meetings past the materialised horizon: bookings see them, and rolling the horizon never adds a clash."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from scheduler.core.settings import current
from scheduler.errors import Conflict
from scheduler.models import Appointment, GroupSeries, Occurrence, Task
from scheduler.scheduling import appointments, busy, groups, roster, therapists
from tests.support import NOW

NY = ZoneInfo("America/New_York")
FIRST = datetime(2026, 3, 3, 10, 0)                  # Tuesdays 10:00-11:00 New York, weekly
BEYOND = datetime(2026, 9, 22, 10, 30, tzinfo=NY)    # a Tuesday 29 weeks out: past the 26-week horizon
FAR = datetime(2028, 3, 7, 10, 0, tzinfo=NY)         # two years out


@pytest.fixture
def clinic(ctx, make_therapist, make_patient):
    """A facilitator running a weekly group with one enrolled patient, another therapist, a free patient."""
    facilitator, other = make_therapist(name="Lee"), make_therapist(name="Kim")
    member, outsider = make_patient(), make_patient()
    group = groups.create_group(ctx, title="Morning circle", facilitator_id=facilitator, capacity=8,
                                local_start=FIRST, duration_minutes=60, timezone="America/New_York",
                                rrule="FREQ=WEEKLY", now=NOW, settings=current())
    roster.enroll(ctx, group.id, member, NOW, settings=current())
    ctx.commit()
    assert group.materialized_until < BEYOND.date()
    return {"group": group.id, "facilitator": facilitator, "other": other, "member": member,
            "outsider": outsider}


def book(ctx, therapist, patient, start, minutes=50):
    appt = appointments.book(ctx, therapist, patient, start, minutes, NOW, settings=current())
    ctx.commit()
    return appt


@pytest.mark.parametrize("start", [BEYOND, FAR, FAR - timedelta(minutes=30)])
def test_a_booking_past_the_horizon_sees_the_facilitators_meetings(ctx, clinic, start):
    with pytest.raises(Conflict) as caught:
        book(ctx, clinic["facilitator"], clinic["outsider"], start)
    assert caught.value.field == "therapist_id"
    ctx.rollback()
    assert book(ctx, clinic["facilitator"], clinic["outsider"], start + timedelta(hours=2)).id


@pytest.mark.parametrize("start", [BEYOND, FAR])
def test_a_booking_past_the_horizon_sees_an_enrolled_patients_meetings(ctx, clinic, start):
    with pytest.raises(Conflict) as caught:
        book(ctx, clinic["other"], clinic["member"], start)
    assert caught.value.field == "patient_id"
    ctx.rollback()
    assert book(ctx, clinic["other"], clinic["outsider"], start).id  # the outsider is not in the group
    assert book(ctx, clinic["other"], clinic["member"], start + timedelta(days=1)).id  # a Wednesday


def test_moving_an_appointment_onto_a_far_meeting_is_refused(ctx, clinic):
    appt = book(ctx, clinic["other"], clinic["member"], BEYOND + timedelta(hours=3))
    with pytest.raises(Conflict):
        appointments.reschedule(ctx, appt.id, NOW, start=BEYOND, settings=current())
    ctx.rollback()


def test_a_finished_series_holds_no_time(ctx, clinic):
    group = groups.create_group(ctx, title="Short course", facilitator_id=clinic["other"], capacity=8,
                                local_start=FIRST + timedelta(days=1), duration_minutes=60,
                                timezone="America/New_York", rrule="FREQ=WEEKLY;COUNT=4", now=NOW, settings=current())
    ctx.commit()
    wednesday = BEYOND + timedelta(days=1, minutes=-30)
    assert group.materialized_until < wednesday.date()
    assert busy.clash(ctx, clinic["other"], clinic["outsider"], wednesday, wednesday + timedelta(hours=1)) is None


def test_free_slots_past_the_horizon_leave_out_the_meetings(ctx, clinic):
    therapist = therapists.get(ctx, clinic["facilitator"])
    day = datetime(2026, 9, 22, tzinfo=NY)
    slots = therapists.slots(ctx, therapist, day, day + timedelta(days=1), timedelta(minutes=60), NOW)
    starts = {s.astimezone(NY).strftime("%H:%M") for s, _ in slots}
    assert "09:00" in starts and "11:00" in starts
    assert not {"09:15", "09:30", "09:45", "10:00", "10:15", "10:30", "10:45"} & starts


def test_a_cancelled_meeting_frees_its_time_past_the_first_check(ctx, clinic):
    """Within the horizon the rows decide, also when the booking's window reaches past it."""
    group = ctx.get(GroupSeries, clinic["group"])
    last = ctx.scalars(select(Occurrence).where(Occurrence.group_id == group.id)
                       .order_by(Occurrence.start_dt.desc())).first()
    last.cancelled = True
    ctx.commit()
    start = last.start_dt.astimezone(NY)
    assert book(ctx, clinic["facilitator"], clinic["outsider"], start).id


def test_enrolling_checks_appointments_past_the_horizon(ctx, clinic):
    book(ctx, clinic["other"], clinic["outsider"], FAR)
    with pytest.raises(Conflict) as caught:
        roster.enroll(ctx, clinic["group"], clinic["outsider"], NOW, settings=current())
    assert caught.value.field == "patient_id" and "2028-03-07" in caught.value.message
    ctx.rollback()


def test_creating_a_group_checks_the_facilitators_far_appointments(ctx, clinic):
    book(ctx, clinic["other"], clinic["outsider"], FAR + timedelta(days=2))  # a Thursday
    with pytest.raises(Conflict) as caught:
        groups.create_group(ctx, title="Thursday group", facilitator_id=clinic["other"], capacity=8,
                            local_start=FIRST + timedelta(days=2), duration_minutes=60,
                            timezone="America/New_York", rrule="FREQ=WEEKLY", now=NOW, settings=current())
    assert caught.value.field == "facilitator_id" and "2028-03-09" in caught.value.message
    ctx.rollback()


def test_rolling_the_horizon_adds_no_clash(ctx, clinic):
    """What bookings could make, the roll never turns into a clash; only data older than these
    checks can clash, and then the meeting is still created and staff get a task."""
    book(ctx, clinic["facilitator"], clinic["outsider"], BEYOND + timedelta(hours=2))
    book(ctx, clinic["other"], clinic["member"], BEYOND + timedelta(days=1))
    # Written straight into the table, as a booking made before these checks existed would be.
    legacy = BEYOND + timedelta(weeks=1)
    ctx.add(Appointment(therapist_id=clinic["other"], patient_id=clinic["member"], start_dt=legacy,
                        end_dt=legacy + timedelta(minutes=50), status="scheduled", version=1,
                        created_at=NOW, updated_at=NOW))
    ctx.commit()
    later = NOW + timedelta(weeks=5)  # the horizon reaches 2026-10-05
    added = groups.extend_horizon(ctx, later, settings=current())
    ctx.commit()
    assert added == 5
    group = ctx.get(GroupSeries, clinic["group"])
    meetings = {o.local_date: o for o in ctx.scalars(select(Occurrence).where(Occurrence.group_id == group.id))}
    assert BEYOND.date() in meetings and legacy.date() in meetings  # the group is the fixed thing
    tasks = ctx.scalars(select(Task)).all()
    assert [(t.kind, t.patient_id) for t in tasks] == [("group_clash", clinic["member"])]
    assert legacy.date().isoformat() in tasks[0].detail
    # Nothing but the legacy row overlaps a meeting, for the facilitator or the member.
    for occ in meetings.values():
        assert busy.therapist_intervals(ctx, clinic["facilitator"], occ.start_dt, occ.end_dt) == [
            (occ.start_dt, occ.end_dt)]
        taken = busy.patient_intervals(ctx, clinic["member"], occ.start_dt, occ.end_dt, exclude_group=group.id)
        assert taken == ([(legacy, legacy + timedelta(minutes=50))] if occ.local_date == legacy.date() else [])
    # Past the new horizon the bookings still see the meetings.
    with pytest.raises(Conflict):
        book(ctx, clinic["other"], clinic["member"], FAR)
    ctx.rollback()


# -- two groups that first meet at the same time past the horizon (issue 7 item 11's last gap) --
SPRING_2028 = datetime(2028, 3, 7, 10, 0)  # a Tuesday two years out, at the weekly group's hour


def one_meeting(ctx, facilitator: int, local_start: datetime = SPRING_2028, title: str = "Reunion"):
    """A group that meets once, two years ahead (materialised: a single meeting always is)."""
    group = groups.create_group(ctx, title=title, facilitator_id=facilitator, capacity=8,
                                local_start=local_start, duration_minutes=60, timezone="America/New_York",
                                now=NOW, settings=current())
    ctx.commit()
    return group


def test_a_new_series_meeting_a_far_group_of_its_facilitator_is_refused(ctx, clinic):
    one_meeting(ctx, clinic["other"])
    with pytest.raises(Conflict) as caught:  # weekly Tuesdays at 10: meets on Mar 7 2028 too
        groups.create_group(ctx, title="Tuesday circle", facilitator_id=clinic["other"], capacity=8,
                            local_start=FIRST, duration_minutes=60, timezone="America/New_York",
                            rrule="FREQ=WEEKLY", now=NOW, settings=current())
    assert caught.value.field == "facilitator_id" and "2028-03-07 at 10:00" in caught.value.message
    ctx.rollback()
    assert groups.create_group(ctx, title="Later circle", facilitator_id=clinic["other"], capacity=8,
                               local_start=FIRST.replace(hour=12), duration_minutes=60,
                               timezone="America/New_York", rrule="FREQ=WEEKLY", now=NOW, settings=current()).id


def test_joining_a_series_that_meets_a_far_group_of_the_patient_is_refused(ctx, clinic):
    far = one_meeting(ctx, clinic["other"])
    roster.enroll(ctx, far.id, clinic["outsider"], NOW, settings=current())
    ctx.commit()
    with pytest.raises(Conflict) as caught:  # the weekly group meets on Mar 7 2028 at 10:00 too
        roster.enroll(ctx, clinic["group"], clinic["outsider"], NOW, settings=current())
    assert caught.value.field == "patient_id" and "2028-03-07 at 10:00" in caught.value.message


def test_handing_a_series_to_a_facilitator_with_a_far_group_then_is_refused(ctx, clinic):
    from scheduler.scheduling import group_changes
    one_meeting(ctx, clinic["other"])
    with pytest.raises(Conflict) as caught:
        group_changes.update_group(ctx, clinic["group"], {"facilitator_id": clinic["other"]}, NOW,
                                   settings=current())
    assert caught.value.field == "facilitator_id" and "2028-03-07" in caught.value.message
