"""Groups: series across DST, the rolling horizon, enrollment and waitlist, attendance, validation, roles."""
from __future__ import annotations

from contextlib import contextmanager
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from scheduler.api import groups as groups_api
from scheduler.core.settings import current
from scheduler.errors import Conflict
from scheduler.extensions import db
from scheduler.models import (
    Appointment,
    Attendance,
    AuditEvent,
    Enrollment,
    GroupSeries,
    Message,
    Occurrence,
    Task,
)
from scheduler.scheduling import groups, roster
from tests.support import NOW, count

NY = "America/New_York"
UTC = ZoneInfo("UTC")
TUESDAY = "2026-03-03T18:00"  # the Tuesday after NOW (Monday 2026-03-02), before spring-forward
AFTER_FIRST = datetime(2026, 3, 4, tzinfo=UTC)  # the first Tuesday meeting is over


class Clock:
    """The API's clock, pinned so tests can cross DST dates and move past a meeting's start."""

    now = NOW


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    c = Clock()
    monkeypatch.setattr(groups_api, "now", lambda: c.now)
    return c


@pytest.fixture
def look(app):
    """A short-lived session of its own, for reading and for calling domain functions."""
    @contextmanager
    def session():
        with app.app_context():
            yield db.session
    return session


@pytest.fixture
def facilitator(make_therapist):
    return make_therapist(name="Lee Facilitator")


def body(facilitator: int, /, **overrides) -> dict:
    """A valid POST /groups body; a field set to ... is left out."""
    data = {"title": "Tuesday evening circle", "facilitator_id": facilitator, "capacity": 10,
            "start": TUESDAY, "duration_minutes": 90, "timezone": NY, "rrule": "FREQ=WEEKLY",
            "location": "Room 2"}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not ...}


@pytest.fixture
def make_group(api, facilitator):
    """POST a group through the API; returns its JSON."""
    def make(**overrides) -> dict:
        r = api.post("/groups", json=body(facilitator, **overrides))
        assert r.status_code == 201, r.get_json()
        return r.get_json()
    return make


def occurrences(s, group_id: int) -> list[Occurrence]:
    return list(s.scalars(select(Occurrence).where(Occurrence.group_id == group_id)
                          .order_by(Occurrence.start_dt)))


def local(occ: Occurrence, tz: str = NY) -> datetime:
    return occ.start_dt.astimezone(ZoneInfo(tz))


def appointment(therapist_id: int, patient_id: int, start: datetime, minutes: int = 50) -> Appointment:
    return Appointment(therapist_id=therapist_id, patient_id=patient_id, start_dt=start,
                       end_dt=start + timedelta(minutes=minutes), status="scheduled", version=1,
                       created_at=NOW, updated_at=NOW)


def enrol(api, group_id: int, patient_id):
    return api.post(f"/groups/{group_id}/enrollments", json={"patient_id": patient_id})


def attend(api, group: dict, occurrence_id: int, patient_id, status="attended"):
    return api.post(f"/groups/{group['id']}/occurrences/{occurrence_id}/attendance",
                    json={"patient_id": patient_id, "status": status})


def positions(look, group_id: int, patient_ids) -> dict[int, int | None]:
    """Current waitlist positions, derived from the database."""
    with look() as s:
        out = {}
        for pid in patient_ids:
            e = s.scalar(select(Enrollment).where(Enrollment.group_id == group_id,
                                                  Enrollment.patient_id == pid,
                                                  Enrollment.status != "dropped"))
            out[pid] = roster.waitlist_position(s, e) if e else None
        return out


# --- series across DST and the horizon ----------------------------------------------------


@pytest.mark.parametrize("start, now, change, utc_before, utc_after", [
    # spring-forward Sunday 2026-03-08: 18:00 EST = 23:00 UTC, then 18:00 EDT = 22:00 UTC
    (TUESDAY, NOW, date(2026, 3, 8), 23, 22),
    # fall-back Sunday 2026-11-01: 18:00 EDT = 22:00 UTC, then 18:00 EST = 23:00 UTC
    ("2026-10-20T18:00", datetime(2026, 10, 19, 12, tzinfo=UTC), date(2026, 11, 1), 22, 23),
])
def test_weekly_group_stays_at_local_wall_time_across_dst(api, look, clock, make_group, start, now,
                                                          change, utc_before, utc_after):
    clock.now = now
    group = make_group(start=start, rrule="FREQ=WEEKLY;COUNT=12")
    with look() as s:
        occs = occurrences(s, group["id"])
        assert len(occs) == 12
        assert {(local(o).hour, local(o).minute) for o in occs} == {(18, 0)}
        assert {local(o).weekday() for o in occs} == {1}
        for o in occs:
            assert o.start_dt.astimezone(UTC).hour == (utc_before if o.local_date < change else utc_after)
            assert o.end_dt - o.start_dt == timedelta(minutes=90)
        assert any(o.local_date < change for o in occs) and any(o.local_date > change for o in occs)
    shown = api.get(f"/groups/{group['id']}").get_json()["next_occurrences"]
    assert [s["start_local"][11:] for s in shown] == ["18:00"] * 12
    assert {s["start"][-6:] for s in shown} == {"-05:00", "-04:00"}
    assert all(s["start"].startswith(s["start_local"]) for s in shown)


def test_meeting_in_a_dst_gap_moves_forward_by_the_gap(look, make_group):
    group = make_group(start="2026-03-05T02:30", rrule="FREQ=DAILY;COUNT=6", duration_minutes=60)
    with look() as s:
        by_day = {o.local_date: local(o).strftime("%H:%M %z") for o in occurrences(s, group["id"])}
    assert by_day[date(2026, 3, 7)] == "02:30 -0500"
    assert by_day[date(2026, 3, 8)] == "03:30 -0400"  # 02:30 does not exist that night
    assert by_day[date(2026, 3, 9)] == "02:30 -0400"


@pytest.mark.parametrize("rrule, expected", [
    ("FREQ=WEEKLY;COUNT=12", 12),      # every COUNT occurrence, well inside the horizon
    ("FREQ=WEEKLY", 26),               # open-ended: 26 weeks ahead (Tuesdays to 2026-08-25)
    ("FREQ=WEEKLY;BYDAY=TU,TH", 52),
    ("FREQ=MONTHLY", 12),              # the horizon reaches the 12th upcoming meeting
    ("FREQ=WEEKLY;UNTIL=20260401", 5),
    (..., 1),                          # no rule: a single meeting
])
def test_horizon(look, make_group, rrule, expected):
    group = make_group(rrule=rrule)
    with look() as s:
        occs = occurrences(s, group["id"])
        assert len(occs) == expected == len({o.local_date for o in occs})
        assert s.get(GroupSeries, group["id"]).materialized_until >= date(2026, 8, 31)  # NOW + 26 weeks
    if rrule == "FREQ=WEEKLY":
        assert occs[-1].local_date + timedelta(days=7) > NOW.date() + timedelta(weeks=26)
    assert len(group["next_occurrences"]) == min(expected, 12)


def test_extend_horizon_is_idempotent_and_rolls_forward(api, look, make_group, make_patient):
    group = make_group(rrule="FREQ=WEEKLY")
    pid = make_patient()
    assert enrol(api, group["id"], pid).get_json()["status"] == "enrolled"
    later = NOW + timedelta(weeks=4)
    with look() as s:
        assert groups.extend_horizon(s, NOW, settings=current()) == 0
        s.commit()
        assert groups.extend_horizon(s, later, settings=current()) == 4
        s.commit()
        assert groups.extend_horizon(s, later, settings=current()) == 0
        assert groups.extend_horizon(s, later + timedelta(hours=1), settings=current()) == 0
        s.commit()
    with look() as s:
        occs = occurrences(s, group["id"])
        assert len(occs) == 30
        new = occs[-4:]
        assert [o.local_date for o in new] == [date(2026, 9, 1) + timedelta(weeks=i) for i in range(4)]
        assert s.get(GroupSeries, group["id"]).materialized_until == date(2026, 9, 28)
        for occ in new:
            kinds = s.scalars(select(Message.kind).where(Message.occurrence_id == occ.id,
                                                         Message.patient_id == pid)).all()
            assert sorted(kinds) == ["reminder", "reminder"]  # 48h and 2h ahead
        assert count(s, Task) == 0


def test_extend_horizon_stops_at_the_rule_end_and_flags_clashes(look, make_group, facilitator,
                                                                 make_patient):
    counted = make_group(rrule="FREQ=WEEKLY;COUNT=12")
    weekly = make_group(rrule="FREQ=WEEKLY", start="2026-03-04T10:00", title="Wednesday group")
    pid = make_patient()
    with look() as s:
        # Booked beyond today's horizon, on what becomes a Wednesday meeting.
        s.add(appointment(facilitator, pid, datetime(2026, 9, 9, 10, 30, tzinfo=ZoneInfo(NY))))
        s.commit()
        assert groups.extend_horizon(s, NOW + timedelta(weeks=2), settings=current()) == 2
        s.commit()
        assert len(occurrences(s, counted["id"])) == 12
        assert len(occurrences(s, weekly["id"])) == 28
        tasks = s.scalars(select(Task)).all()
        assert [t.kind for t in tasks] == ["group_clash"] and "2026-09-09" in tasks[0].detail


# --- creating a group: validation, conflicts, roles ---------------------------------------


def test_create_returns_the_group(make_group, facilitator):
    group = make_group()
    assert group["title"] == "Tuesday evening circle" and group["facilitator_id"] == facilitator
    assert (group["capacity"], group["duration_minutes"], group["timezone"]) == (10, 90, NY)
    assert (group["start"], group["rrule"], group["location"]) == (TUESDAY, "FREQ=WEEKLY", "Room 2")
    assert (group["enrolled"], group["waitlisted"]) == (0, 0)
    first = group["next_occurrences"][0]
    assert first["start"] == "2026-03-03T18:00:00-05:00" and first["end"] == "2026-03-03T19:30:00-05:00"
    assert first["start_local"] == "2026-03-03T18:00" and first["cancelled"] is False
    assert len(group["next_occurrences"]) == 12


def test_start_with_an_offset_is_read_as_the_groups_wall_time(make_group):
    group = make_group(start="2026-03-10T23:00:00Z", rrule="FREQ=WEEKLY;COUNT=2")
    assert group["start"] == "2026-03-10T19:00"
    assert group["next_occurrences"][1]["start"] == "2026-03-17T19:00:00-04:00"


def test_rule_is_stored_normalised(make_group):
    assert make_group(rrule=" rrule:freq=weekly;count=3 ")["rrule"] == "FREQ=WEEKLY;COUNT=3"


def test_null_rule_and_location_are_left_out(make_group):
    group = make_group(rrule=None, location=None)
    assert (group["rrule"], group["location"], len(group["next_occurrences"])) == (None, None, 1)


BAD_RULES = [
    "garbage", "FREQ=HOURLY", "FREQ=MINUTELY;COUNT=3", "", "   ", "FREQ=WEEKLY;COUNT=0",
    "FREQ=DAILY;INTERVAL=0", "FREQ=DAILY;INTERVAL=x", "FREQ=DAILY;BYHOUR=9,18", "FREQ=DAILY;byminute=5",
    "FREQ=WEEKLY;BYDAY=MO",  # the first meeting (a Tuesday) does not match the rule
    "FREQ=WEEKLY;UNTIL=20260101", "FREQ=WEEKLY;BYDAY=XX", "FREQ=WEEKLY\nFREQ=DAILY", "FREQ=WEEKLY;FOO=1",
    # Rules that never meet at all: dateutil alone would search every year up to 9999.
    "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30", "FREQ=MONTHLY;BYMONTH=4;BYMONTHDAY=31",
    "FREQ=WEEKLY;BYMONTH=2;BYMONTHDAY=30;BYDAY=TU", "FREQ=YEARLY;BYEASTER=0",
]


@pytest.mark.parametrize("rule", BAD_RULES)
def test_series_errors_name_the_rule(rule):
    errors = groups.series_errors(datetime(2026, 3, 3, 18), NY, rule, NOW)
    assert list(errors) == ["rrule"] and errors["rrule"]


@pytest.mark.parametrize("start, rule, field", [
    (datetime(2026, 3, 3, 18), "FREQ=WEEKLY;BYDAY=TU,TH;COUNT=8", None),
    (datetime(2026, 3, 3, 18), None, None),
    (datetime(2026, 3, 8, 2, 30), None, "start"),        # spring-forward gap
    (datetime(2026, 11, 1, 1, 30), "FREQ=DAILY", None),  # fall-back: ambiguous, read as the first
    (datetime(2026, 3, 2, 7, 0), None, "start"),         # 12:00 UTC: not after NOW
    (datetime(2026, 3, 3, 18, 0, 1), None, "start"),
    # Rare but real dates: the quick check must not refuse them.
    (datetime(2028, 2, 29, 18), "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", None),
    (datetime(2026, 3, 27, 18), "FREQ=MONTHLY;BYDAY=-1FR", None),
    (datetime(2026, 3, 31, 18), "FREQ=MONTHLY;BYMONTHDAY=-1;INTERVAL=3;COUNT=4", None),
    (datetime(2026, 12, 31, 18), "FREQ=YEARLY;BYWEEKNO=53;BYDAY=TH", None),
    (datetime(2026, 3, 3, 18), "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30", "rrule"),
])
def test_series_errors_for_start(start, rule, field):
    assert list(groups.series_errors(start, NY, rule, NOW)) == ([field] if field else [])


def test_rrule_validation_through_the_api(api, facilitator):
    for rule in [*BAD_RULES[:4], 12, ["FREQ=DAILY"], "FREQ=WEEKLY;" + "COUNT=1;" * 70]:
        r = api.post("/groups", json=body(facilitator, rrule=rule))
        assert r.status_code == 422, rule
        assert list(r.get_json()["errors"]) == ["rrule"], rule


def test_a_rule_that_never_meets_is_a_422_naming_the_rule(api, facilitator):
    r = api.post("/groups", json=body(facilitator, rrule="FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30"))
    assert r.status_code == 422
    assert r.get_json()["errors"] == {"rrule": "start must be the rule's first date (start does not match the rule)"}


def test_a_request_validates_its_rule_once(api, facilitator, monkeypatch, engine_name):
    rule = f"FREQ=WEEKLY;COUNT={len(engine_name)};WKST=SU"  # one not seen before in this process
    calls = []
    real = groups.timeutil.validate_rrule
    monkeypatch.setattr(groups.timeutil, "validate_rrule", lambda *a: calls.append(a) or real(*a))
    assert api.post("/groups", json=body(facilitator, rrule=rule)).status_code == 201
    assert len(calls) == 1


CREATE_CASES = [
    ("title", ...), ("title", ""), ("title", 5), ("title", "x" * 201),
    ("facilitator_id", ...), ("facilitator_id", "1"), ("facilitator_id", 0), ("facilitator_id", True),
    ("capacity", ...), ("capacity", 0), ("capacity", 101), ("capacity", 2.5), ("capacity", "10"),
    ("start", ...), ("start", "next tuesday"), ("start", 20260303), ("start", ""),
    ("start", "2026-03-08T02:30"),  # in the spring-forward gap
    ("start", "2026-03-01T18:00"),  # in the past
    ("start", "2026-03-03T18:00:30"),
    ("duration_minutes", ...), ("duration_minutes", 4), ("duration_minutes", 481),
    ("duration_minutes", "90"),
    ("timezone", ...), ("timezone", "Mars/Olympus"), ("timezone", "America/New_York "), ("timezone", 3),
    ("location", 7), ("location", "x" * 201), ("colour", "blue"),
]


def test_create_validation(api, look, facilitator):
    for field, value in CREATE_CASES:  # one app per engine: the whole table in one test
        r = api.post("/groups", json=body(facilitator, **{field: value}))
        assert r.status_code == 422, (field, value)
        errors = r.get_json()["errors"]
        assert list(errors) == [field] and isinstance(errors[field], str), (field, value)
    with look() as s:
        assert count(s, GroupSeries) == count(s, Occurrence) == 0


def test_dst_gap_first_start_names_start(api, facilitator):
    r = api.post("/groups", json=body(facilitator, start="2026-03-08T02:30", rrule="FREQ=DAILY"))
    assert r.status_code == 422
    assert "daylight saving" in r.get_json()["errors"]["start"]


def test_every_field_error_is_reported_at_once(api):
    r = api.post("/groups", json={"capacity": 0, "rrule": "FREQ=HOURLY", "start": TUESDAY,
                                  "timezone": NY, "extra": 1})
    assert set(r.get_json()["errors"]) == {"title", "facilitator_id", "capacity", "duration_minutes",
                                           "rrule", "extra"}


def test_malformed_json_is_400(api, make_group):
    group = make_group()
    occurrence = group["next_occurrences"][0]["id"]
    for raw in ("{not json", "[1, 2]", '"text"', "", "null"):
        for path in ("/groups", f"/groups/{group['id']}/enrollments",
                     f"/groups/{group['id']}/occurrences/{occurrence}/attendance"):
            r = api.post(path, data=raw, headers={"Content-Type": "application/json"})
            assert r.status_code == 400, (path, raw)


def test_unknown_facilitator_is_404(api):
    r = api.post("/groups", json=body(999))
    assert r.status_code == 404 and r.get_json()["field"] == "facilitator_id"


@pytest.mark.parametrize("kind, start, clash", [
    ("appointment", "2026-03-17T19:00", True),   # inside the third meeting (18:00-19:30)
    ("appointment", "2026-03-17T19:30", False),  # starts as it ends: no overlap
    ("group", "2026-03-31T17:00", True),         # another group, 17:00-18:30
    ("group", "2026-03-31T16:30", False),        # 16:30-18:00: back to back
])
def test_facilitator_clash_is_409(api, look, make_group, facilitator, make_patient, kind, start, clash):
    if kind == "appointment":
        pid = make_patient()
        with look() as s:
            s.add(appointment(facilitator, pid, datetime.fromisoformat(start).replace(tzinfo=ZoneInfo(NY))))
            s.commit()
    else:
        make_group(start=start, rrule="FREQ=WEEKLY;COUNT=1", title="Other")
    r = api.post("/groups", json=body(facilitator))
    assert r.status_code == (409 if clash else 201), r.get_json()
    if clash:
        assert r.get_json()["field"] == "facilitator_id" and "2026-03-" in r.get_json()["error"]


def test_a_different_facilitator_is_free(api, make_group, make_therapist):
    make_group()
    assert api.post("/groups", json=body(make_therapist(name="Other"))).status_code == 201


def test_roles(make_api, make_therapist, make_group, facilitator):
    group = make_group()
    own = make_api("therapist", therapist_id=facilitator)
    other = make_api("therapist", therapist_id=make_therapist(name="Other"))
    coordinator = make_api("coordinator")
    assert own.post("/groups", json=body(facilitator)).status_code == 403
    assert coordinator.post("/groups", json=body(facilitator, start="2026-03-04T18:00")).status_code == 201
    assert own.get(f"/groups/{group['id']}").status_code == 200
    assert other.get(f"/groups/{group['id']}").status_code == 404
    assert coordinator.get(f"/groups/{group['id']}").status_code == 200
    assert own.post(f"/groups/{group['id']}/enrollments", json={"patient_id": 1}).status_code == 403
    assert own.delete(f"/groups/{group['id']}/enrollments/1").status_code == 403
    occurrence = group["next_occurrences"][0]["id"]
    assert attend(other, group, occurrence, 1).status_code == 404
    assert own.get("/groups/999").status_code == 404


# --- enrollment and waitlist --------------------------------------------------------------


@pytest.mark.parametrize("capacity", [1, 3])
def test_capacity_then_waitlist_positions(api, make_group, make_patient, capacity):
    group = make_group(capacity=capacity)
    pids = [make_patient() for _ in range(capacity + 3)]
    answers = [enrol(api, group["id"], pid) for pid in pids]
    assert {r.status_code for r in answers} == {201}
    bodies = [r.get_json() for r in answers]
    assert [b["status"] for b in bodies] == ["enrolled"] * capacity + ["waitlisted"] * 3
    assert [b.get("position") for b in bodies] == [None] * capacity + [1, 2, 3]
    assert all(isinstance(b["enrollment_id"], int) for b in bodies)
    shown = api.get(f"/groups/{group['id']}").get_json()
    assert (shown["enrolled"], shown["waitlisted"]) == (capacity, 3)


def test_dropping_an_enrolled_patient_promotes_the_first_waitlisted(api, look, make_group, make_patient):
    group = make_group(capacity=2)
    pids = [make_patient() for _ in range(5)]  # 2 enrolled, 3 waitlisted
    for pid in pids:
        enrol(api, group["id"], pid)
    r = api.delete(f"/groups/{group['id']}/enrollments/{pids[0]}")
    assert r.status_code == 200
    assert r.get_json()["promoted_patient_ids"] == [pids[2]]
    assert positions(look, group["id"], pids) == {pids[0]: None, pids[1]: None, pids[2]: None,
                                                  pids[3]: 1, pids[4]: 2}
    with look() as s:
        promoted = s.scalar(select(Enrollment).where(Enrollment.patient_id == pids[2]))
        assert promoted.status == "enrolled" and promoted.enrolled_at == NOW
        notices = s.scalars(select(Message).where(Message.enrollment_id == promoted.id,
                                                  Message.kind == "waitlist_promoted")).all()
        assert len(notices) == 1 and notices[0].patient_id == pids[2]
        assert count(s, Message, Message.enrollment_id == promoted.id, Message.kind == "reminder") > 0
        dropped = s.scalar(select(Enrollment).where(Enrollment.patient_id == pids[0]))
        assert dropped.status == "dropped" and dropped.dropped_at == NOW
        assert count(s, Message, Message.enrollment_id == dropped.id, Message.status == "pending") == 0
        assert count(s, Message, Message.enrollment_id == dropped.id, Message.status == "withdrawn") > 0
    shown = api.get(f"/groups/{group['id']}").get_json()
    assert (shown["enrolled"], shown["waitlisted"]) == (2, 2)


def test_a_waitlisted_patient_with_a_clashing_session_keeps_their_place(
        api, look, make_group, make_patient, make_therapist):
    """A freed seat goes to the next in line when the first would be double-booked; staff are told."""
    group = make_group(capacity=1)
    first, clashing, next_in_line = (make_patient() for _ in range(3))
    other = make_therapist(name="Other")
    for pid in (first, clashing, next_in_line):
        enrol(api, group["id"], pid)
    with look() as s:  # booked individually at the second meeting's time while waiting
        meeting = occurrences(s, group["id"])[1]
        s.add(appointment(other, clashing, meeting.start_dt))
        s.commit()
    r = api.delete(f"/groups/{group['id']}/enrollments/{first}")
    assert r.status_code == 200
    assert r.get_json()["promoted_patient_ids"] == [next_in_line]
    assert positions(look, group["id"], [clashing]) == {clashing: 1}
    with look() as s:
        tasks = s.scalars(select(Task).where(Task.patient_id == clashing)).all()
        assert [t.kind for t in tasks] == ["waitlist_clash"]


def test_dropping_a_waitlisted_patient_closes_the_gap(api, look, make_group, make_patient):
    group = make_group(capacity=1)
    pids = [make_patient() for _ in range(5)]
    for pid in pids:
        enrol(api, group["id"], pid)
    r = api.delete(f"/groups/{group['id']}/enrollments/{pids[2]}")
    assert r.status_code == 200 and r.get_json()["promoted_patient_ids"] == []
    assert positions(look, group["id"], pids[1:]) == {pids[1]: 1, pids[2]: None, pids[3]: 2, pids[4]: 3}
    assert enrol(api, group["id"], pids[2]).get_json()["position"] == 4  # back of the line


def test_enrolled_patient_gets_reminders_waitlisted_none(api, look, make_group, make_patient):
    group = make_group(capacity=1, rrule="FREQ=WEEKLY;COUNT=3")
    seated, waiting = make_patient(), make_patient()
    enrol(api, group["id"], seated)
    enrol(api, group["id"], waiting)
    with look() as s:
        texts = s.scalars(select(Message).where(Message.patient_id == seated)).all()
        # 48h and 2h before each of 3 meetings, except the first's 48h (already past at NOW)
        assert {m.kind for m in texts} == {"reminder"} and len(texts) == 5
        assert count(s, Message, Message.patient_id == waiting) == 0


def test_double_enrolment_is_409(api, make_group, make_patient):
    group = make_group(capacity=1)
    seated, waiting = make_patient(), make_patient()
    assert enrol(api, group["id"], seated).status_code == 201
    assert enrol(api, group["id"], waiting).status_code == 201
    for pid in (seated, waiting):
        r = enrol(api, group["id"], pid)
        assert r.status_code == 409 and r.get_json()["field"] == "patient_id"


def test_a_dropped_patient_may_enrol_again(api, make_group, make_patient):
    group = make_group()
    pid = make_patient()
    enrol(api, group["id"], pid)
    assert api.delete(f"/groups/{group['id']}/enrollments/{pid}").status_code == 200
    assert api.delete(f"/groups/{group['id']}/enrollments/{pid}").status_code == 404
    assert enrol(api, group["id"], pid).get_json()["status"] == "enrolled"


def test_drop_unknown_is_404(api, make_group, make_patient):
    group = make_group()
    pid = make_patient()
    assert api.delete(f"/groups/{group['id']}/enrollments/{pid}").status_code == 404
    assert api.delete(f"/groups/{group['id']}/enrollments/999").status_code == 404
    assert api.delete(f"/groups/999/enrollments/{pid}").status_code == 404


@pytest.mark.parametrize("busy_with", ["appointment", "group"])
def test_enrolling_a_patient_who_is_busy_then_is_409(api, look, make_group, make_patient,
                                                     make_therapist, busy_with):
    group = make_group(rrule="FREQ=WEEKLY;COUNT=4")
    pid, other_therapist = make_patient(), make_therapist(name="T2")
    if busy_with == "appointment":
        with look() as s:  # during the fourth meeting
            s.add(appointment(other_therapist, pid, datetime(2026, 3, 24, 18, 30, tzinfo=ZoneInfo(NY))))
            s.commit()
    else:
        other = make_group(facilitator_id=other_therapist, start="2026-03-10T19:00",
                           rrule="FREQ=WEEKLY;COUNT=1")
        assert enrol(api, other["id"], pid).status_code == 201
    r = enrol(api, group["id"], pid)
    assert r.status_code == 409 and r.get_json()["field"] == "patient_id"
    assert "2026-03-" in r.get_json()["error"]


def test_enrolling_in_a_finished_group_is_409(api, clock, make_group, make_patient):
    group = make_group(rrule="FREQ=WEEKLY;COUNT=2")
    pid = make_patient()
    clock.now = NOW + timedelta(weeks=3)
    assert enrol(api, group["id"], pid).status_code == 409


def test_enrolment_validation(api, make_group):
    group = make_group()
    for payload, field in [
        ({}, "patient_id"), ({"patient_id": "1"}, "patient_id"), ({"patient_id": 0}, "patient_id"),
        ({"patient_id": None}, "patient_id"), ({"patient_id": 1.0}, "patient_id"),
        ({"patient_id": True}, "patient_id"), ({"patient_id": 1, "note": "x"}, "note"),
    ]:
        r = api.post(f"/groups/{group['id']}/enrollments", json=payload)
        assert r.status_code == 422 and list(r.get_json()["errors"]) == [field], payload


def test_enrolment_unknown_patient_or_group_is_404(api, make_group, make_patient):
    group, pid = make_group(), make_patient()
    assert enrol(api, group["id"], 999).status_code == 404
    assert enrol(api, 999, pid).status_code == 404


# --- attendance and confirmation ----------------------------------------------------------


def test_attendance_only_after_the_meeting_started(api, look, clock, make_group, make_patient):
    group = make_group()
    pid = make_patient()
    enrol(api, group["id"], pid)
    first = group["next_occurrences"][0]["id"]
    clock.now = datetime(2026, 3, 3, 22, 59, tzinfo=UTC)  # one minute before 18:00 EST
    assert attend(api, group, first, pid).status_code == 409
    clock.now = datetime(2026, 3, 3, 23, 0, tzinfo=UTC)
    r = attend(api, group, first, pid)
    assert r.status_code == 200, r.get_json()
    assert (r.get_json()["status"], r.get_json()["patient_id"]) == ("attended", pid)
    r = attend(api, group, first, pid, "late_cancelled")  # corrected: the same row, updated
    assert r.get_json()["status"] == "late_cancelled"
    with look() as s:
        rows = s.scalars(select(Attendance)).all()
        assert len(rows) == 1 and rows[0].status == "late_cancelled" and rows[0].recorded_by == api.user_id


def test_attendance_needs_a_seat_at_that_time(api, clock, make_group, make_patient):
    group = make_group(capacity=1)
    seated, waiting, stranger, late = (make_patient() for _ in range(4))
    enrol(api, group["id"], seated)
    enrol(api, group["id"], waiting)
    first = group["next_occurrences"][0]["id"]
    clock.now = AFTER_FIRST
    api.delete(f"/groups/{group['id']}/enrollments/{seated}")   # left after it: still recordable
    assert attend(api, group, first, seated).status_code == 200
    assert attend(api, group, first, waiting).status_code == 409  # promoted only now
    assert attend(api, group, first, stranger).status_code == 409
    assert attend(api, group, first, 999).status_code == 404
    assert attend(api, group, 999, seated).status_code == 404
    enrol(api, group["id"], late)
    assert attend(api, group, first, late).status_code == 409


def test_attendance_at_another_groups_meeting_is_404(api, make_group, make_patient, make_therapist):
    group = make_group()
    other = make_group(facilitator_id=make_therapist(name="T2"))
    pid = make_patient()
    assert attend(api, group, other["next_occurrences"][0]["id"], pid).status_code == 404


def test_facilitator_records_attendance(make_api, api, clock, facilitator, make_group, make_patient):
    group = make_group()
    pid = make_patient()
    own = make_api("therapist", therapist_id=facilitator)
    enrol(api, group["id"], pid)
    clock.now = AFTER_FIRST
    assert attend(own, group, group["next_occurrences"][0]["id"], pid, "no_show").status_code == 200


def test_attendance_validation(api, make_group):
    group = make_group()
    path = f"/groups/{group['id']}/occurrences/{group['next_occurrences'][0]['id']}/attendance"
    for payload, fields in [
        ({"status": "attended"}, ["patient_id"]), ({"patient_id": 1}, ["status"]),
        ({"patient_id": 1, "status": "present"}, ["status"]), ({"patient_id": 1, "status": 1}, ["status"]),
        ({"patient_id": "1", "status": "attended"}, ["patient_id"]),
        ({"patient_id": 1, "status": "attended", "when": "now"}, ["when"]),
        ({}, ["patient_id", "status"]),
    ]:
        r = api.post(path, json=payload)
        assert r.status_code == 422 and sorted(r.get_json()["errors"]) == fields, payload


def test_confirm_occurrence_keeps_the_first_confirmation(api, look, clock, make_group, make_patient):
    group = make_group()
    pid = make_patient()
    enrol(api, group["id"], pid)
    with look() as s:
        occ = s.get(Occurrence, group["next_occurrences"][0]["id"])
        row = roster.confirm_occurrence(s, occ, pid, NOW)
        again = roster.confirm_occurrence(s, occ, pid, NOW + timedelta(hours=1))
        s.commit()
        assert row.id == again.id and again.confirmed_at == NOW and again.status is None
    clock.now = AFTER_FIRST
    assert attend(api, group, group["next_occurrences"][0]["id"], pid).status_code == 200
    with look() as s:
        row = s.scalars(select(Attendance)).one()
        assert (row.status, row.confirmed_at) == ("attended", NOW)
        occ = s.get(Occurrence, row.occurrence_id)
        occ.cancelled = True
        with pytest.raises(Conflict):
            roster.confirm_occurrence(s, occ, pid, NOW)


# --- audit --------------------------------------------------------------------------------


def test_reads_and_changes_are_audited(api, look, clock, make_group, make_patient):
    group = make_group(capacity=1)
    seated, waiting = make_patient(), make_patient()
    enrol(api, group["id"], seated)
    enrol(api, group["id"], waiting)
    api.get(f"/groups/{group['id']}")
    api.delete(f"/groups/{group['id']}/enrollments/{seated}")
    clock.now = AFTER_FIRST
    assert attend(api, group, group["next_occurrences"][0]["id"], waiting, "no_show").status_code == 200
    with look() as s:
        events = s.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
        assert [(e.action, e.entity) for e in events] == [
            ("create", "group"), ("create", "enrollment"), ("create", "enrollment"), ("read", "group"),
            ("delete", "enrollment"), ("update", "enrollment"), ("update", "attendance")]
        assert {e.user_id for e in events} == {api.user_id}
        assert all(e.entity_id for e in events)
