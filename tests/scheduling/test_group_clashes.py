"""Group meetings and the facilitator's time off: refused naming every clash, or created / handed
over with those meetings cancelled; time off over meetings is listed; the horizon raises a task."""
from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from sqlalchemy import select

from scheduler.core.settings import current
from scheduler.errors import Conflict
from scheduler.models import Message, Occurrence, Task
from scheduler.scheduling import group_changes, groups, roster, therapists
from tests.support import NOW

NY = "America/New_York"
TUESDAY = datetime(2026, 3, 3, 18, 0)  # Tuesdays 18:00 New York
WEEKDAYS = [(day, time(9), time(17)) for day in range(5)]


def away(ctx, therapist_id: int, start: datetime, end: datetime):
    """Give the therapist time off from `start` to `end` (local wall times), keeping their hours."""
    therapists.set_availability(ctx, therapist_id, WEEKDAYS, [therapists.TimeOff(start, end, "leave")], NOW)
    ctx.commit()


def create(ctx, facilitator: int, meetings: int = 6, **kwargs):
    return groups.create_group(ctx, title="Evening circle", facilitator_id=facilitator, capacity=8,
                               local_start=TUESDAY, duration_minutes=60, timezone=NY, now=NOW,
                               rrule=group_changes.weekly_rule(meetings), settings=current(), **kwargs)


def cancelled_dates(ctx, group_id: int) -> list[str]:
    return [d.isoformat() for d in ctx.scalars(select(Occurrence.local_date).where(
        Occurrence.group_id == group_id, Occurrence.cancelled.is_(True)).order_by(Occurrence.local_date))]


def test_a_group_meeting_in_the_facilitators_time_off_is_refused_naming_every_clash(ctx, make_therapist):
    facilitator = make_therapist()
    away(ctx, facilitator, datetime(2026, 3, 9), datetime(2026, 3, 18))
    with pytest.raises(Conflict) as caught:
        create(ctx, facilitator)
    ctx.rollback()
    assert caught.value.field == "facilitator_id"
    assert caught.value.message == ("the facilitator is busy or away at 2 meetings: "
                                    "Tue 2026-03-10 at 18:00, Tue 2026-03-17 at 18:00")
    group = create(ctx, facilitator, cancel_clashing=True)
    ctx.commit()
    assert cancelled_dates(ctx, group.id) == ["2026-03-10", "2026-03-17"]
    assert len(groups.upcoming(ctx, group.id, NOW)) == 4


def test_time_off_past_the_horizon_is_named_and_that_meeting_created_cancelled(ctx, make_therapist):
    facilitator = make_therapist()
    away(ctx, facilitator, datetime(2026, 10, 5), datetime(2026, 10, 8))  # week 32: past the 26-week horizon
    with pytest.raises(Conflict) as caught:
        create(ctx, facilitator, meetings=40)
    ctx.rollback()
    assert "1 meeting: Tue 2026-10-06 at 18:00" in caught.value.message
    group = create(ctx, facilitator, meetings=40, cancel_clashing=True)
    ctx.commit()
    assert cancelled_dates(ctx, group.id) == ["2026-10-06"]
    assert group.materialized_until >= datetime(2026, 10, 6).date()


def test_handing_a_group_to_someone_on_time_off_is_refused_or_cancels_those_meetings(
        ctx, make_therapist, make_patient):
    first, second = make_therapist(name="Lee"), make_therapist(name="Kim")
    patient = make_patient()
    group = create(ctx, first)
    roster.enroll(ctx, group.id, patient, NOW, settings=current())
    ctx.commit()
    away(ctx, second, datetime(2026, 3, 17), datetime(2026, 3, 18))
    with pytest.raises(Conflict) as caught:
        group_changes.update_group(ctx, group.id, {"facilitator_id": second}, NOW, settings=current())
    ctx.rollback()
    assert caught.value.message == "that facilitator is busy or away at 1 meeting: Tue 2026-03-17 at 18:00"
    group_changes.update_group(ctx, group.id, {"facilitator_id": second}, NOW, settings=current(),
                               cancel_clashing=True)
    ctx.commit()
    assert cancelled_dates(ctx, group.id) == ["2026-03-17"]
    told = ctx.scalars(select(Message.kind).where(Message.patient_id == patient, Message.kind == "cancelled")).all()
    assert told == ["cancelled"]  # the patient hears the meeting is off


def test_time_off_added_over_a_meeting_is_listed(ctx, make_therapist):
    facilitator = make_therapist()
    group = create(ctx, facilitator)
    ctx.commit()
    away(ctx, facilitator, datetime(2026, 3, 10, 17), datetime(2026, 3, 10, 20))
    listed = therapists.meetings_in_time_off(ctx, therapists.get(ctx, facilitator), NOW)
    assert [(o.local_date.isoformat(), g.id) for o, g in listed] == [("2026-03-10", group.id)]


def test_a_meeting_the_horizon_brings_into_time_off_raises_a_group_clash_task(ctx, make_therapist):
    facilitator = make_therapist()
    group = groups.create_group(ctx, title="Evening circle", facilitator_id=facilitator, capacity=8,
                                local_start=TUESDAY, duration_minutes=60, timezone=NY, now=NOW,
                                rrule="FREQ=WEEKLY", settings=current())
    ctx.commit()
    beyond = group.materialized_until + timedelta(days=14)
    # Written past the checks, as time off entered before them would be.
    ctx.add(therapists.AvailabilityException(therapist_id=facilitator, start_dt=datetime.combine(
        beyond, time.min).astimezone(), end_dt=datetime.combine(beyond + timedelta(days=7), time.min).astimezone()))
    ctx.commit()
    groups.extend_horizon(ctx, NOW + timedelta(weeks=4), settings=current())
    ctx.commit()
    tasks = ctx.scalars(select(Task)).all()
    assert [t.kind for t in tasks] == ["group_clash"]
    assert f"Group {group.id}: the facilitator is busy or away on" in tasks[0].detail


def test_the_api_answers_409_naming_the_meetings_and_creates_with_them_cancelled_on_request(
        api, frozen_clock, make_therapist):
    facilitator = make_therapist()
    r = api.put(f"/therapists/{facilitator}/availability", json={
        "rules": [{"weekday": d, "start": "09:00", "end": "17:00"} for d in range(5)],
        "exceptions": [{"start": "2026-03-10T00:00", "end": "2026-03-11T00:00"}]})
    assert r.status_code == 200 and r.json["meetings_in_time_off"] == []
    body = {"title": "Evening circle", "facilitator_id": facilitator, "capacity": 8, "start": "2026-03-03T18:00",
            "duration_minutes": 60, "timezone": NY, "rrule": "FREQ=WEEKLY;COUNT=3"}
    r = api.post("/groups", json=body)
    assert r.status_code == 409 and r.json["field"] == "facilitator_id"
    assert "Tue 2026-03-10 at 18:00" in r.json["error"]
    r = api.post("/groups", json={**body, "cancel_clashing": True})
    assert r.status_code == 201, r.json
    assert [o["cancelled"] for o in r.json["next_occurrences"]] == [False, True, False]
    r = api.put(f"/therapists/{facilitator}/availability", json={
        "rules": [{"weekday": d, "start": "09:00", "end": "17:00"} for d in range(5)],
        "exceptions": [{"start": "2026-03-17T17:00", "end": "2026-03-17T20:00"}]})
    assert [m["start"] for m in r.json["meetings_in_time_off"]] == ["2026-03-17T18:00:00-04:00"]
