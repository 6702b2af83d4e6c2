"""Therapists: creation, weekly hours and time off, free slots (incl. DST), the calendar."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert, select

from scheduler.core.settings import current
from scheduler.extensions import db
from scheduler.models import Appointment, AvailabilityException, Patient, Therapist
from scheduler.scheduling import appointments, therapists
from tests.support import NOW, add_group, at, book, next_dst_changes, next_monday, ny

NY = "America/New_York"


def put_hours(api, therapist_id, rules, exceptions=None):
    body = {"rules": rules}
    if exceptions is not None:
        body["exceptions"] = exceptions
    return api.put(f"/therapists/{therapist_id}/availability", json=body)


def slots(api, therapist_id, start, end, duration=60):
    return api.get(f"/therapists/{therapist_id}/slots",
                   query_string={"from": start, "to": end, "duration": duration})


def local_times(found: list[dict]) -> list[str]:
    """Slot starts as local HH:MM, for readable assertions."""
    return [s["start"][11:16] for s in found]


# --- POST /therapists ----------------------------------------------------------------------


@pytest.mark.parametrize("role", ["admin", "coordinator"])
def test_create_therapist(make_api, role):
    r = make_api(role).post("/therapists", json={"name": " Dana Reyes ", "email": "Dana@Clinic.test",
                                                 "timezone": "America/Chicago"})
    assert r.status_code == 201
    assert r.json == {"id": r.json["id"], "name": "Dana Reyes", "email": "dana@clinic.test",
                      "timezone": "America/Chicago"}


def test_create_therapist_without_email(api):
    r = api.post("/therapists", json={"name": "Lee Park", "timezone": NY})
    assert r.status_code == 201 and r.json["email"] is None


def test_therapist_user_may_not_create_therapists(make_api, make_therapist):
    therapist = make_api("therapist", therapist_id=make_therapist())
    assert therapist.post("/therapists", json={"name": "X", "timezone": NY}).status_code == 403


def test_duplicate_email_is_409(api):
    assert api.post("/therapists", json={"name": "A", "email": "a@c.test", "timezone": NY}).status_code == 201
    r = api.post("/therapists", json={"name": "B", "email": "A@c.test", "timezone": NY})
    assert r.status_code == 409 and r.json["field"] == "email"


@pytest.mark.parametrize("body, field", [
    ({"timezone": NY}, "name"),
    ({"name": "", "timezone": NY}, "name"),
    ({"name": "   ", "timezone": NY}, "name"),
    ({"name": "x" * 201, "timezone": NY}, "name"),
    ({"name": 5, "timezone": NY}, "name"),
    ({"name": "A"}, "timezone"),
    ({"name": "A", "timezone": "Mars/Olympus"}, "timezone"),
    ({"name": "A", "timezone": "EST5EDT "}, "timezone"),
    ({"name": "A", "timezone": 5}, "timezone"),
    ({"name": "A", "timezone": NY, "email": "nope"}, "email"),
    ({"name": "A", "timezone": NY, "email": 5}, "email"),
    ({"name": "A", "timezone": NY, "phone": "555"}, "phone"),
])
def test_create_therapist_validation(api, body, field):
    r = api.post("/therapists", json=body)
    assert r.status_code == 422
    assert field in r.json["errors"]


# --- PUT /therapists/{id}/availability -----------------------------------------------------


def test_put_availability_replaces_rules_and_reads_local_exceptions(app, api, make_therapist):
    t = make_therapist()
    r = put_hours(api, t, [{"weekday": 1, "start": "13:00", "end": "17:00"},
                           {"weekday": 1, "start": "09:00", "end": "13:00"}],
                  [{"start": "2026-12-24T00:00", "end": "2026-12-26T00:00", "reason": "holiday"},
                   {"start": "2026-12-31T12:00:00Z", "end": "2026-12-31T18:00:00Z"}])
    assert r.status_code == 200, r.json
    assert r.json["rules"] == [{"weekday": 1, "start": "09:00", "end": "13:00"},
                               {"weekday": 1, "start": "13:00", "end": "17:00"}]
    first, second = r.json["exceptions"]
    assert first["start"] == "2026-12-24T00:00:00-05:00" and first["reason"] == "holiday"
    assert second["start"] == "2026-12-31T07:00:00-05:00" and second["reason"] is None
    # Without "exceptions" the time off stays; the rules are replaced.
    r = put_hours(api, t, [{"weekday": 4, "start": "10:00", "end": "12:00"}])
    assert r.json["rules"] == [{"weekday": 4, "start": "10:00", "end": "12:00"}]
    assert len(r.json["exceptions"]) == 2
    assert put_hours(api, t, [], []).json == {"therapist_id": t, "timezone": NY, "rules": [],
                                              "exceptions": [], "appointments_outside_hours": [],
                                              "meetings_in_time_off": []}
    with app.app_context():
        therapist = db.session.get(Therapist, t)
        assert therapist.rules == [] and therapist.exceptions == []


def test_booked_appointments_outside_new_hours_stay_and_are_reported(app, api, make_therapist, make_patient):
    t, p = make_therapist(), make_patient()
    day = next_monday()
    kept = book(api, t, p, at(day, 10)).json["id"]
    fine = book(api, t, p, at(day, 14)).json["id"]
    r = put_hours(api, t, [{"weekday": 0, "start": "13:00", "end": "17:00"}])
    assert r.status_code == 200
    assert [a["id"] for a in r.json["appointments_outside_hours"]] == [kept]
    assert api.get(f"/appointments/{kept}").json["status"] == "scheduled"
    r = put_hours(api, t, [{"weekday": 0, "start": "09:00", "end": "17:00"}],
                  [{"start": at(day, 14, 30), "end": at(day, 16)}])
    assert [a["id"] for a in r.json["appointments_outside_hours"]] == [fine]


def test_put_availability_roles(api, make_api, make_therapist):
    mine, theirs = make_therapist(), make_therapist(name="Lee Park")
    therapist = make_api("therapist", therapist_id=mine)
    rules = [{"weekday": 0, "start": "09:00", "end": "12:00"}]
    assert put_hours(therapist, mine, rules).status_code == 200
    assert put_hours(therapist, theirs, rules).status_code == 404
    assert put_hours(make_api("coordinator"), theirs, rules).status_code == 200
    assert put_hours(api, 999999, rules).status_code == 404


def _rule(weekday=0, start="09:00", end="12:00", **extra):
    return {"weekday": weekday, "start": start, "end": end, **extra}


AVAILABILITY_CASES = [
    ("missing rules", {}, "rules"),
    ("rules not a list", {"rules": {"weekday": 0}}, "rules"),
    ("too many rules", {"rules": [_rule()] * 51}, "rules"),
    ("rule not an object", {"rules": ["Mon 9-12"]}, "rules[0]"),
    ("weekday 7", {"rules": [_rule(weekday=7)]}, "rules[0].weekday"),
    ("weekday -1", {"rules": [_rule(weekday=-1)]}, "rules[0].weekday"),
    ("weekday as text", {"rules": [_rule(weekday="1")]}, "rules[0].weekday"),
    ("weekday missing", {"rules": [{"start": "09:00", "end": "12:00"}]}, "rules[0].weekday"),
    ("start not HH:MM", {"rules": [_rule(start="9:00")]}, "rules[0].start"),
    ("start 25:00", {"rules": [_rule(start="25:00")]}, "rules[0].start"),
    ("start as number", {"rules": [_rule(start=900)]}, "rules[0].start"),
    ("end missing", {"rules": [{"weekday": 0, "start": "09:00"}]}, "rules[0].end"),
    ("end equals start", {"rules": [_rule(end="09:00")]}, "rules[0].end"),
    ("end before start", {"rules": [_rule(start="17:00", end="09:00")]}, "rules[0].end"),
    ("unknown rule field", {"rules": [_rule(day="Mon")]}, "rules[0].day"),
    ("overlap: start inside", {"rules": [_rule(), _rule(1), _rule(start="11:00", end="14:00")]},
     "rules[2].start"),
    ("overlap: end inside", {"rules": [_rule(start="10:00", end="12:00"), _rule(start="08:00", end="11:00")]},
     "rules[1].end"),
    ("overlap: around", {"rules": [_rule(start="10:00", end="11:00"), _rule(start="08:00", end="12:00")]},
     "rules[1].end"),
    ("overlap: same", {"rules": [_rule(), _rule()]}, "rules[1].start"),
    ("unknown top field", {"rules": [], "hours": []}, "hours"),
    ("exceptions not a list", {"rules": [], "exceptions": "Dec 24"}, "exceptions"),
    ("exception not an object", {"rules": [], "exceptions": [5]}, "exceptions[0]"),
    ("exception missing end", {"rules": [], "exceptions": [{"start": "2027-01-04T09:00"}]}, "exceptions[0].end"),
    ("exception bad start", {"rules": [], "exceptions": [{"start": "soon", "end": "2027-01-04T10:00"}]},
     "exceptions[0].start"),
    ("exception end before start",
     {"rules": [], "exceptions": [{"start": "2027-01-04T10:00", "end": "2027-01-04T09:00"}]}, "exceptions[0].end"),
    ("exception in DST gap",
     {"rules": [], "exceptions": [{"start": "2027-03-14T02:30", "end": "2027-03-14T05:00"}]},
     "exceptions[0].start"),
    ("exception reason not text",
     {"rules": [], "exceptions": [{"start": "2027-01-04T09:00", "end": "2027-01-04T10:00", "reason": 1}]},
     "exceptions[0].reason"),
    ("exception unknown field",
     {"rules": [], "exceptions": [{"start": "2027-01-04T09:00", "end": "2027-01-04T10:00", "all_day": True}]},
     "exceptions[0].all_day"),
]


@pytest.mark.parametrize("case, body, field", AVAILABILITY_CASES, ids=[c[0] for c in AVAILABILITY_CASES])
def test_put_availability_validation(api, make_therapist, case, body, field):
    t = make_therapist()
    r = api.put(f"/therapists/{t}/availability", json=body)
    assert r.status_code == 422, r.json
    assert field in r.json["errors"], r.json


@pytest.mark.parametrize("method, path, data", [
    ("post", "/therapists", "{not json"),
    ("post", "/therapists", "[1, 2]"),
    ("put", "/therapists/{id}/availability", "{not json"),
    ("put", "/therapists/{id}/availability", '"text"'),
    ("put", "/therapists/{id}/availability", ""),
])
def test_malformed_json_is_400(api, make_therapist, method, path, data):
    r = getattr(api, method)(path.format(id=make_therapist()), data=data, content_type="application/json")
    assert r.status_code == 400


def test_put_availability_touching_rules_are_fine(api, make_therapist):
    t = make_therapist()
    r = put_hours(api, t, [_rule(start="09:00", end="12:00"), _rule(start="12:00", end="17:00")])
    assert r.status_code == 200


# --- GET slots -------------------------------------------------------------------------------


def test_free_slots_skip_busy_time_and_time_off(app, api, make_therapist, make_patient):
    t, p = make_therapist(), make_patient()
    day = next_monday()
    assert book(api, t, p, at(day, 10)).status_code == 201
    put_hours(api, t, [_rule(w, "09:00", "17:00") for w in range(5)],
              [{"start": at(day, 15), "end": at(day, 17)}])
    r = slots(api, t, at(day, 8), at(day, 18))
    assert r.status_code == 200
    starts = local_times(r.json["slots"])
    assert starts == ["09:00"] + [f"{h:02d}:{m:02d}" for h in range(11, 15) for m in (0, 15, 30, 45)][:13]
    first = r.json["slots"][0]
    assert first == {"start": f"{at(day, 9)}:00-05:00", "end": f"{at(day, 10)}:00-05:00"}


def test_free_slots_skip_facilitated_group(app, api, make_therapist):
    t = make_therapist()
    day = next_monday()
    with app.app_context():
        add_group(db.session, t, ny(day, 9), minutes=450)  # 09:00-16:30
    found = slots(api, t, at(day, 0), at(day + timedelta(days=1), 0), 30).json["slots"]
    assert local_times(found) == ["16:30"]


@pytest.mark.parametrize("change", ["spring", "fall"])
def test_slots_on_monday_after_dst_change_start_at_nine_local(api, make_therapist, change):
    t = make_therapist()
    spring, fall = next_dst_changes()
    monday = (spring if change == "spring" else fall) + timedelta(days=1)
    found = slots(api, t, at(monday, 0), at(monday + timedelta(days=1), 0)).json["slots"]
    offset = "-04:00" if change == "spring" else "-05:00"
    assert found[0]["start"] == f"{at(monday, 9)}:00{offset}"
    assert found[-1]["end"] == f"{at(monday, 17)}:00{offset}"
    assert len(found) == 29  # 09:00 .. 16:00 every quarter hour


@pytest.mark.parametrize("monday, utc_hour", [(date(2026, 3, 9), 13), (date(2026, 11, 2), 14)])
def test_domain_slots_after_2026_dst_changes(app, make_therapist, monday, utc_hour):
    t = make_therapist()
    with app.app_context():
        therapist = db.session.get(Therapist, t)
        start = datetime(monday.year, monday.month, monday.day, tzinfo=ZoneInfo(NY))
        found = therapists.slots(db.session, therapist, start, start + timedelta(days=1),
                                 timedelta(minutes=50), NOW)
        assert found[0][0] == datetime(monday.year, monday.month, monday.day, utc_hour, tzinfo=UTC)


def test_slots_in_the_past_are_not_offered(app, make_therapist):
    t = make_therapist()
    with app.app_context():
        therapist = db.session.get(Therapist, t)
        day = date(2026, 3, 2)
        now = ny(day, 12, 7)
        found = therapists.slots(db.session, therapist, ny(day, 0), ny(day, 23), timedelta(minutes=30), now)
        assert found[0][0] == ny(day, 12, 15)
        # A whole range in the past: nothing.
        assert therapists.slots(db.session, therapist, ny(day, 0), ny(day, 12), timedelta(minutes=30), now) == []


def test_slots_roles(api, make_api, make_therapist):
    mine, theirs = make_therapist(), make_therapist(name="Lee Park")
    therapist = make_api("therapist", therapist_id=mine)
    day = next_monday()
    assert slots(therapist, mine, at(day, 0), at(day, 23)).status_code == 200
    assert slots(therapist, theirs, at(day, 0), at(day, 23)).status_code == 404
    assert slots(make_api("coordinator"), theirs, at(day, 0), at(day, 23)).status_code == 200
    assert slots(api, 999999, at(day, 0), at(day, 23)).status_code == 404


FROM, TO = "2027-01-04T00:00", "2027-01-05T00:00"
SLOT_CASES = [
    ({"to": TO, "duration": "60"}, "from"),
    ({"from": FROM, "duration": "60"}, "to"),
    ({"from": FROM, "to": TO}, "duration"),
    ({"from": "monday", "to": TO, "duration": "60"}, "from"),
    ({"from": FROM, "to": "2027-13-01", "duration": "60"}, "to"),
    ({"from": "2027-03-14T02:30", "to": TO, "duration": "60"}, "from"),
    ({"from": FROM, "to": FROM, "duration": "60"}, "to"),
    ({"from": TO, "to": FROM, "duration": "60"}, "to"),
    ({"from": FROM, "to": "2027-02-05T00:00", "duration": "60"}, "to"),
    ({"from": FROM, "to": TO, "duration": "abc"}, "duration"),
    ({"from": FROM, "to": TO, "duration": "4"}, "duration"),
    ({"from": FROM, "to": TO, "duration": "481"}, "duration"),
    ({"from": FROM, "to": TO, "duration": "-5"}, "duration"),
    ({"from": FROM, "to": TO, "duration": "50.5"}, "duration"),
    ({"from": FROM, "to": TO, "duration": "60", "step": "5"}, "step"),
]


@pytest.mark.parametrize("query, field", SLOT_CASES)
def test_slots_validation(api, make_therapist, query, field):
    r = api.get(f"/therapists/{make_therapist()}/slots", query_string=query)
    assert r.status_code == 422, r.json
    assert field in r.json["errors"]


# --- GET calendar ----------------------------------------------------------------------------


def test_calendar_lists_appointments_and_facilitated_occurrences(app, api, make_api, make_therapist, make_patient):
    t, other, p = make_therapist(), make_therapist(name="Lee Park"), make_patient()
    day = next_monday()
    kept = book(api, t, p, at(day, 10)).json["id"]
    gone = book(api, t, p, at(day, 11)).json["id"]
    api.post(f"/appointments/{gone}/cancel", json={})
    book(api, other, p, at(day, 14))  # someone else's: not shown
    book(api, t, p, at(day + timedelta(days=3), 10))  # outside the range
    with app.app_context():
        group_id = add_group(db.session, t, ny(day, 15))
        add_group(db.session, other, ny(day, 16))
    r = api.get(f"/therapists/{t}/calendar", query_string={"from": at(day, 0), "to": at(day, 23)})
    assert r.status_code == 200
    assert [(a["id"], a["status"], a["patient_id"]) for a in r.json["appointments"]] == [
        (kept, "scheduled", p), (gone, "cancelled", p)]
    assert r.json["appointments"][0]["start"] == f"{at(day, 10)}:00-05:00"
    [occ] = r.json["occurrences"]
    assert occ["group_id"] == group_id and occ["title"] == "Evening circle"
    assert occ["start"] == f"{at(day, 15)}:00-05:00"
    assert set(occ) == {"id", "group_id", "title", "start", "end", "cancelled"}
    therapist = make_api("therapist", therapist_id=other)
    assert therapist.get(f"/therapists/{t}/calendar", query_string={"from": at(day, 0), "to": at(day, 23)}
                         ).status_code == 404
    assert api.get("/therapists/999999/calendar", query_string={"from": at(day, 0), "to": at(day, 23)}
                   ).status_code == 404


@pytest.mark.parametrize("query, field", [
    ({"to": TO}, "from"),
    ({"from": FROM}, "to"),
    ({"from": FROM, "to": "2027-03-08T00:00"}, "to"),  # 63 days
    ({"from": TO, "to": FROM}, "to"),
    ({"from": FROM, "to": TO, "duration": "60"}, "duration"),
])
def test_calendar_validation(api, make_therapist, query, field):
    r = api.get(f"/therapists/{make_therapist()}/calendar", query_string=query)
    assert r.status_code == 422
    assert field in r.json["errors"]


# 100,000 appointments, one an hour from 2020-01-01 UTC across 20 therapists: nothing overlaps.
# Generated inside the database. Nine in ten are cancelled only because feeding 100,000 live rows
# into PostgreSQL's overlap (gist) indexes takes ~15 s here; the calendar reads every status alike.
_FILL = {
    "postgresql": """
        INSERT INTO appointments (therapist_id, patient_id, start_dt, end_dt, status, version,
                                  created_at, updated_at)
        SELECT :t0 + k % 20, :p0 + k % 500, TIMESTAMPTZ '2020-01-01 00:00Z' + k * INTERVAL '1 hour',
               TIMESTAMPTZ '2020-01-01 00:50Z' + k * INTERVAL '1 hour', {status}, 1, :now, :now
        FROM generate_series(0, 99999) AS k""",
    "sqlite": """
        WITH RECURSIVE seq(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM seq WHERE k < 99999)
        INSERT INTO appointments (therapist_id, patient_id, start_dt, end_dt, status, version,
                                  created_at, updated_at)
        SELECT :t0 + k % 20, :p0 + k % 500,
               strftime('%Y-%m-%d %H:%M:%S', '2020-01-01 00:00:00', '+' || k || ' hours') || '.000000',
               strftime('%Y-%m-%d %H:%M:%S', '2020-01-01 00:50:00', '+' || k || ' hours') || '.000000',
               {status}, 1, :now, :now
        FROM seq""",
}
_STATUS = "CASE WHEN k % 10 = 0 THEN 'scheduled' ELSE 'cancelled' END"


def test_calendar_reads_one_therapist_through_the_index_with_100k_appointments(app, api):
    """A 62-day calendar is right among 100,000 rows and found through the (therapist, start) index.

    Speed itself is measured by bench/booking.py, not asserted here.
    """
    with app.app_context():
        s = db.session
        s.execute(insert(Therapist), [{"name": f"T{i}", "timezone": NY, "created_at": NOW} for i in range(20)])
        s.execute(insert(Patient), [{"name": f"P{i}", "phone": f"+1201555{i:04d}", "timezone": NY,
                                     "language": "en", "sms_consent": False, "created_at": NOW}
                                    for i in range(500)])
        tids = s.scalars(select(Therapist.id).order_by(Therapist.id)).all()
        pids = s.scalars(select(Patient.id).order_by(Patient.id)).all()
        assert tids[-1] - tids[0] == 19 and pids[-1] - pids[0] == 499  # contiguous ids
        dialect = s.get_bind().dialect.name
        now = NOW if dialect == "postgresql" else NOW.replace(tzinfo=None).isoformat(sep=" ")
        s.execute(db.text(_FILL[dialect].format(status=_STATUS)), {"t0": tids[0], "p0": pids[0], "now": now})
        s.commit()
        assert s.scalar(select(db.func.count()).select_from(Appointment)) == 100_000
        if dialect == "postgresql":
            s.execute(db.text("ANALYZE appointments"))
            s.commit()
        sample = s.scalars(select(Appointment).where(Appointment.therapist_id == tids[3])
                           .order_by(Appointment.start_dt).limit(1)).one()
        assert sample.start_dt == datetime(2020, 1, 1, 3, tzinfo=UTC)  # read back as the app writes it
    start = datetime(2020, 1, 1, tzinfo=UTC) + timedelta(days=1000)
    query = {"from": start.isoformat(), "to": (start + timedelta(days=62)).isoformat()}
    r = api.get(f"/therapists/{tids[3]}/calendar", query_string=query)
    assert r.status_code == 200
    first_hour = 1000 * 24
    assert len(r.json["appointments"]) == sum(1 for k in range(first_hour, first_hour + 62 * 24) if k % 20 == 3)
    with app.app_context():
        explain = "EXPLAIN" if dialect == "postgresql" else "EXPLAIN QUERY PLAN"
        plan = db.session.execute(db.text(
            f"{explain} SELECT id FROM appointments WHERE therapist_id = :t "
            "AND start_dt < :e AND end_dt > :s"), {"t": tids[3], "s": start, "e": start}).all()
    assert "ix_appointments_therapist_start" in " ".join(str(row) for row in plan)


def test_domain_create_and_outside_hours(app, make_patient):
    p = make_patient()
    with app.app_context():
        s = db.session
        therapist = therapists.create(s, "Ana Ruiz", None, NY, NOW)
        therapists.set_availability(s, therapist.id, [(1, datetime(2026, 1, 1, 9).time(),
                                                       datetime(2026, 1, 1, 17).time())], None, NOW)
        s.commit()
        appt = appointments.book(s, therapist.id, p, datetime(2026, 3, 3, 16), 60, NOW, settings=current())
        s.commit()
        _, outside = therapists.set_availability(s, therapist.id, [(1, datetime(2026, 1, 1, 9).time(),
                                                                    datetime(2026, 1, 1, 12).time())],
                                                 None, NOW)
        s.commit()
        assert outside == [appt]


def test_put_availability_takes_24_00_so_a_session_may_cross_midnight(api, make_therapist):
    t = make_therapist()
    r = put_hours(api, t, [{"weekday": 0, "start": "18:00", "end": "24:00"},
                           {"weekday": 1, "start": "00:00", "end": "02:00"}])
    assert r.status_code == 200, r.json
    assert {"weekday": 0, "start": "18:00", "end": "24:00"} in r.json["rules"]
    from tests.support import next_monday
    monday = next_monday()
    found = slots(api, t, f"{monday}T22:00", f"{monday + timedelta(days=1)}T03:00")
    assert found.status_code == 200, found.json
    assert f"{monday}T23:30" in [s["start"][:16] for s in found.json["slots"]], found.json
    overlap = put_hours(api, t, [{"weekday": 0, "start": "18:00", "end": "24:00"},
                                 {"weekday": 0, "start": "23:00", "end": "23:30"}])
    assert overlap.status_code == 422 and "rules[1].start" in overlap.json["errors"], overlap.json


# --- next_free: the week grid's Next free time ------------------------------------------------

@pytest.mark.parametrize("away_until, expected", [
    (None, ny(2, 9)),  # Monday 7 AM: this morning at 9
    (ny(20, 0), ny(20, 9)),  # away until Friday Mar 20
    (ny(2, 9) + timedelta(weeks=13), None),  # nothing within the horizon (12 weeks)
])
def test_next_free_finds_the_first_bookable_half_hour(app, make_therapist, away_until, expected):
    tid = make_therapist()
    with app.app_context():
        if away_until:
            db.session.add(AvailabilityException(therapist_id=tid, start_dt=NOW, end_dt=away_until))
            db.session.flush()
        found = therapists.next_free(db.session, db.session.get(Therapist, tid), NOW, timedelta(minutes=30))
        assert found == expected
