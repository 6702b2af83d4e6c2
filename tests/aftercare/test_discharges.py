"""Discharges and their plans through the API: record, change, end, readmission, progress, access."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from scheduler.models import AuditEvent, Discharge
from tests.support import NOW
from tests.support.aftercare import local

TODAY = date(2026, 3, 2)  # NOW in New York


@pytest.fixture
def staff(frozen_clock, make_api):
    return make_api("coordinator")


def _post(api, pid, **body):
    return api.post(f"/patients/{pid}/discharges", json=body)


def test_record_with_defaults_and_the_same_date_again_is_the_same_discharge(app, staff, clinic):
    pid = clinic.patient()
    r = _post(staff, pid, date=TODAY.isoformat())
    assert r.status_code == 201
    body = r.get_json()
    assert {k: body[k] for k in ("date", "plan_days", "individual_per_week", "groups_per_week", "active",
                                 "ended_reason", "planned", "attended", "missed")} == {
        "date": "2026-03-02", "plan_days": 90, "individual_per_week": 1, "groups_per_week": 1, "active": True,
        "ended_reason": None, "planned": 0, "attended": 0, "missed": 0}
    again = _post(staff, pid, date=TODAY.isoformat(), plan_days=30)
    assert again.status_code == 200
    assert again.get_json()["id"] == body["id"] and again.get_json()["plan_days"] == 90  # nothing changed
    with app.app_context():
        from scheduler.extensions import db
        assert db.session.scalar(select(AuditEvent.action).where(AuditEvent.entity == "discharge")
                                 .order_by(AuditEvent.id)) == "create"


@pytest.mark.parametrize(("body", "field"), [
    ({"date": (TODAY + timedelta(days=31)).isoformat()}, "date"),
    ({"date": "2026-02-30"}, "date"),
    ({"date": "2026-03-01", "plan_days": 0}, "plan_days"),
    ({"date": "2026-03-01", "plan_days": 366}, "plan_days"),
    ({"date": "2026-03-01", "individual_per_week": 8}, "individual_per_week"),
    ({"date": "2026-03-01", "groups_per_week": 8}, "groups_per_week"),
    ({"date": "2026-03-01", "groups_per_week": -1}, "groups_per_week"),
    ({"date": "2026-03-01", "plan_days": 30.0}, "plan_days"),
    ({}, "date"),
])
def test_bad_input_is_a_422_naming_the_field(app, staff, clinic, body, field):
    pid = clinic.patient()
    r = _post(staff, pid, **body)
    assert r.status_code == 422, r.get_json()
    assert field in r.get_json()["errors"]
    with app.app_context():
        from scheduler.extensions import db
        assert db.session.scalar(select(Discharge.id)) is None


def test_thirty_days_ahead_in_the_patients_zone_is_accepted(staff, clinic):
    # 12:00 UTC is already tomorrow in Auckland: 30 days ahead counts from its date.
    pid = clinic.patient(tz="Pacific/Auckland")
    assert _post(staff, pid, date=(TODAY + timedelta(days=31)).isoformat()).status_code == 201
    assert _post(staff, pid, date=(TODAY + timedelta(days=32)).isoformat()).status_code == 422


def test_a_newer_discharge_ends_the_older_plan_as_readmitted(staff, clinic):
    pid = clinic.patient()
    first = _post(staff, pid, date="2026-02-01").get_json()
    second = _post(staff, pid, date="2026-02-25").get_json()
    rows = staff.get(f"/patients/{pid}/discharges").get_json()["discharges"]
    assert [(d["id"], d["active"], d["ended_reason"]) for d in rows] == [
        (second["id"], True, None), (first["id"], False, "readmitted")]
    # A backfilled older discharge starts out ended: the newer one is the person's plan.
    older = _post(staff, pid, date="2026-01-05").get_json()
    assert (older["active"], older["ended_reason"]) == (False, "readmitted")
    assert staff.get(f"/patients/{pid}/discharges").get_json()["discharges"][0]["active"] is True


def test_discharge_date_on_a_patient_records_the_default_plan_and_readmits(staff, clinic):
    r = staff.post("/patients", json={"name": "Ana", "phone": "+12015557777", "timezone": "America/New_York",
                                      "sms_consent": True, "discharge_date": "2026-02-01"})
    pid = r.get_json()["id"]
    assert staff.patch(f"/patients/{pid}", json={"discharge_date": "2026-03-01"}).status_code == 200
    rows = staff.get(f"/patients/{pid}/discharges").get_json()["discharges"]
    assert [(d["date"], d["plan_days"], d["active"], d["ended_reason"]) for d in rows] == [
        ("2026-03-01", 90, True, None), ("2026-02-01", 90, False, "readmitted")]


def test_end_a_plan_with_a_reason_once(staff, clinic):
    pid = clinic.patient()
    d = _post(staff, pid, date="2026-02-20").get_json()
    assert staff.post(f"/discharges/{d['id']}/end", json={"reason": "gone"}).status_code == 422
    r = staff.post(f"/discharges/{d['id']}/end", json={"reason": "moved"})
    assert r.status_code == 200
    assert (r.get_json()["active"], r.get_json()["ended_reason"]) == (False, "moved")
    again = staff.post(f"/discharges/{d['id']}/end", json={"reason": "died"})
    assert again.status_code == 409
    assert staff.get(f"/patients/{pid}/discharges").get_json()["discharges"][0]["ended_reason"] == "moved"


def test_a_plan_that_ran_its_days_cannot_be_ended(staff, clinic):
    pid = clinic.patient()
    d = clinic.discharge(pid, TODAY - timedelta(days=31), plan_days=30)
    assert staff.post(f"/discharges/{d}/end", json={"reason": "other"}).status_code == 409


def test_patch_changes_the_plan_and_refuses_a_date_taken(staff, clinic):
    pid = clinic.patient()
    a = _post(staff, pid, date="2026-02-01").get_json()
    b = _post(staff, pid, date="2026-02-20").get_json()
    r = staff.patch(f"/discharges/{b['id']}", json={"plan_days": 30, "groups_per_week": 3})
    assert r.status_code == 200
    assert (r.get_json()["plan_days"], r.get_json()["groups_per_week"]) == (30, 3)
    clash = staff.patch(f"/discharges/{b['id']}", json={"date": "2026-02-01"})
    assert clash.status_code == 409 and clash.get_json()["field"] == "date"
    assert staff.patch(f"/discharges/{a['id']}", json={"plan_days": 366}).get_json()["errors"] == {
        "plan_days": "must be at most 365"}
    assert staff.patch(f"/discharges/{a['id']}", json={}).status_code == 422
    assert staff.patch(f"/discharges/{a['id']}", json={"date": "2026-04-10"}).status_code == 422


def test_therapists_see_discharges_only_of_patients_in_their_care(frozen_clock, make_api, make_therapist, clinic):
    own = make_therapist("Own")
    mine, other = clinic.patient(), clinic.patient()
    clinic.care_team(mine, own)
    d_mine, d_other = clinic.discharge(mine, TODAY), clinic.discharge(other, TODAY)
    therapist = make_api("therapist", own)
    assert therapist.get(f"/patients/{mine}/discharges").status_code == 200
    hidden, missing = (therapist.get(f"/patients/{p}/discharges") for p in (other, 999_999))
    assert hidden.status_code == missing.status_code == 404
    assert hidden.get_json() == missing.get_json()
    hidden, missing = (therapist.get(f"/discharges/{d}/first-slots") for d in (d_other, 999_999))
    assert hidden.status_code == missing.status_code == 404 and hidden.get_json() == missing.get_json()
    assert therapist.get(f"/discharges/{d_mine}/first-slots").status_code == 200
    # Recording, changing and ending plans is for coordinators and admins.
    assert therapist.post(f"/patients/{mine}/discharges", json={"date": "2026-03-01"}).status_code == 403
    assert therapist.patch(f"/discharges/{d_mine}", json={"plan_days": 30}).status_code == 403
    assert therapist.post(f"/discharges/{d_mine}/end", json={"reason": "moved"}).status_code == 403


# --- progress -----------------------------------------------------------------------------

@pytest.mark.parametrize(("days_since", "planned", "active"), [
    (-3, 0, False),  # recorded ahead: not started yet
    (0, 0, True), (1, 3, True), (7, 3, True), (8, 6, True), (14, 6, True), (15, 9, True),
    (30, 15, True),  # the last day of a 30-day plan: ceil(30 / 7) = 5 weeks
    (31, 15, False), (200, 15, False),  # past the plan's end
])
def test_planned_by_day(staff, clinic, days_since, planned, active):
    pid = clinic.patient()
    clinic.discharge(pid, TODAY - timedelta(days=days_since), plan_days=30, individual=1, groups=2)
    row = staff.get(f"/patients/{pid}/discharges").get_json()["discharges"][0]
    assert (row["planned"], row["active"]) == (planned, active)


def test_attended_missed_and_last_attended_count_appointments_and_group_seats(staff, clinic):
    pid = clinic.patient()
    clinic.discharge(pid, date(2026, 2, 20))
    _, occs = clinic.group(local(date(2026, 2, 21), 18), members=(pid,), weeks=2)
    # Recorded out of order: the later session first.
    clinic.appointment(pid, local(date(2026, 2, 27), 10), "no_show")
    clinic.seat(occs[1], pid, "no_show")  # Feb 28, a group no-show
    clinic.appointment(pid, local(date(2026, 2, 24), 10), "attended")
    clinic.seat(occs[0], pid, "attended")  # Feb 21
    clinic.appointment(pid, local(date(2026, 2, 25), 10), "late_cancelled")
    clinic.appointment(pid, local(date(2026, 2, 26), 10), "cancelled")
    clinic.appointment(pid, local(date(2026, 2, 19), 10), "attended")  # before the discharge
    row = staff.get(f"/patients/{pid}/discharges").get_json()["discharges"][0]
    assert {k: row[k] for k in ("attended", "missed", "last_attended", "days_since_last")} == {
        "attended": 2, "missed": 3, "last_attended": "2026-02-24", "days_since_last": 6}
    assert row["follow_up"] == {"within_7d": True, "within_30d": True, "reason": None}


def test_each_session_counts_for_the_newest_plan_it_falls_in(staff, clinic):
    pid = clinic.patient()
    old = clinic.discharge(pid, date(2026, 1, 1), ended_reason="readmitted", ended_at=NOW)
    new = clinic.discharge(pid, date(2026, 2, 15))
    clinic.appointment(pid, local(date(2026, 1, 10), 10), "attended")
    clinic.appointment(pid, local(date(2026, 2, 20), 10), "attended")  # in both plans' days: the newer
    rows = {d["id"]: d for d in staff.get(f"/patients/{pid}/discharges").get_json()["discharges"]}
    assert (rows[old]["attended"], rows[new]["attended"]) == (1, 1)
    assert rows[old]["follow_up"]["reason"] == "too_late"  # day 9 is the first attended after Jan 1


def test_days_are_counted_in_the_patients_zone(staff, clinic):
    # 23:30 in Los Angeles on day 7 is 07:30 UTC on day 8: it still follows up within 7 days.
    pid = clinic.patient(tz="America/Los_Angeles")
    clinic.discharge(pid, date(2026, 2, 1))
    clinic.appointment(pid, local(date(2026, 2, 8), 23, 0, tz="America/Los_Angeles"), "attended")
    row = staff.get(f"/patients/{pid}/discharges").get_json()["discharges"][0]
    assert row["follow_up"]["within_7d"] is True


@pytest.mark.parametrize(("sessions", "discharged", "reason"), [
    ((), TODAY - timedelta(days=7), "pending"),
    ((), TODAY - timedelta(days=8), "nothing_booked"),
    (((0, "attended"),), TODAY - timedelta(days=10), "same_day_only"),
    (((8, "attended"),), TODAY - timedelta(days=10), "too_late"),
    (((3, "no_show"),), TODAY - timedelta(days=10), "no_show"),
    (((3, "late_cancelled"), (4, "cancelled")), TODAY - timedelta(days=10), "no_show"),
    (((4, "cancelled"),), TODAY - timedelta(days=10), "cancelled"),
    (((7, "attended"),), TODAY - timedelta(days=10), None),
])
def test_follow_up_reason(staff, clinic, sessions, discharged, reason):
    pid = clinic.patient()
    clinic.discharge(pid, discharged)
    for day, status in sessions:
        clinic.appointment(pid, local(discharged + timedelta(days=day), 10), status)
    assert staff.get(f"/patients/{pid}/discharges").get_json()["discharges"][0]["follow_up"]["reason"] == reason
