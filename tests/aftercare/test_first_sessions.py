"""GET /discharges/{id}/first-slots: the earliest free sessions after a discharge, care team first."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests.support.aftercare import local

MONDAY = date(2026, 3, 2)  # NOW's date in New York; US clocks spring forward on Sunday Mar 8


@pytest.fixture
def staff(frozen_clock, make_api):
    return make_api("coordinator")


def _slots(api, discharge_id, **query):
    r = api.get(f"/discharges/{discharge_id}/first-slots", query_string=query)
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def test_care_team_first_then_the_rest_each_earliest_first(staff, clinic, make_therapist):
    outsider = clinic.therapist  # Mon-Fri 09:00-17:00 New York, not on the team
    team = make_therapist("Team", tz="America/Los_Angeles")  # 09:00 there is 12:00 in New York
    pid = clinic.patient(tz="America/Chicago")
    clinic.care_team(pid, team)
    d = clinic.discharge(pid, MONDAY)
    slots = _slots(staff, d)["slots"]
    ids = [s["therapist_id"] for s in slots]
    assert ids == sorted(ids, key=lambda t: t != team) and set(ids) == {team, outsider}
    for who in (team, outsider):
        starts = [s["start"] for s in slots if s["therapist_id"] == who]
        assert starts == sorted(starts)
    # Day 1 is Tuesday; times are in the patient's zone (Chicago).
    assert slots[0] == {"therapist_id": team, "start": "2026-03-03T11:00:00-06:00", "end": "2026-03-03T11:50:00-06:00"}
    first_outsider = next(s for s in slots if s["therapist_id"] == outsider)
    assert first_outsider["start"] == "2026-03-03T08:00:00-06:00"
    assert [s["start"] for s in slots if s["therapist_id"] == outsider][:2] == [
        "2026-03-03T08:00:00-06:00", "2026-03-03T09:00:00-06:00"]  # spread out, not every quarter hour


def test_from_now_when_day_one_is_already_under_way(staff, clinic):
    pid = clinic.patient()
    d = clinic.discharge(pid, MONDAY - timedelta(days=1))  # day 1 is today; it is 07:00 in New York
    assert _slots(staff, d)["slots"][0]["start"] == "2026-03-02T09:00:00-05:00"


def test_window_edges_in_the_patients_zone_across_a_dst_change(staff, clinic, make_therapist):
    # Tokyo's day 1 (Mar 3) begins at 10:00 on Monday in New York, and day 7 ends at 11:00 on
    # Mar 9 in New York, after the clocks there sprang forward.
    mondays = make_therapist("Mondays", hours=((0,), "09:00", "12:00"))
    pid = clinic.patient(tz="Asia/Tokyo")
    d = clinic.discharge(pid, date(2026, 3, 2))
    slots = [s for s in _slots(staff, d)["slots"] if s["therapist_id"] == mondays]
    assert [s["start"] for s in slots] == [
        "2026-03-03T00:00:00+09:00", "2026-03-03T01:00:00+09:00",  # Mon 10:00 and 11:00 EST
        "2026-03-09T22:00:00+09:00", "2026-03-09T23:00:00+09:00",  # Mon 09:00 and 10:00 EDT
    ]


@pytest.mark.parametrize(("within_days", "expected"), [
    (6, []), (7, ["2026-03-09T09:00:00-04:00"]), (14, ["2026-03-09T09:00:00-04:00", "2026-03-16T09:00:00-04:00"]),
])
def test_day_seven_and_beyond(staff, clinic, make_therapist, within_days, expected):
    late = make_therapist("Late", hours=((0,), "09:00", "10:00"))  # Mondays only, one hour
    pid = clinic.patient()
    d = clinic.discharge(pid, MONDAY)
    got = [s["start"] for s in _slots(staff, d, within_days=within_days, duration=50)["slots"]
           if s["therapist_id"] == late]
    assert got == expected


def test_the_patients_own_sessions_and_time_taken_are_left_out(staff, clinic, make_therapist):
    other = make_therapist("Other")
    pid = clinic.patient()
    d = clinic.discharge(pid, MONDAY)
    clinic.appointment(pid, local(date(2026, 3, 3), 9), status="scheduled", therapist=other)
    starts = [s["start"] for s in _slots(staff, d)["slots"] if s["therapist_id"] == clinic.therapist]
    assert starts[0] == "2026-03-03T10:00:00-05:00"


def test_group_meetings_with_a_free_seat(staff, clinic, make_patient):
    pid = clinic.patient()
    d = clinic.discharge(pid, MONDAY)
    someone = make_patient(name="Someone", phone="+12015550999")
    open_group, (open_occ, later_occ) = clinic.group(local(date(2026, 3, 4), 18), capacity=2,
                                                     members=(someone,), weeks=2)
    clinic.group(local(date(2026, 3, 5), 18), capacity=1, members=(someone,))  # full
    clinic.group(local(date(2026, 3, 6), 18), members=(pid,))  # already in it
    clinic.group(local(date(2026, 3, 12), 18))  # past day 7
    groups = _slots(staff, d)["groups"]
    assert groups == [{"group_id": open_group, "occurrence_id": open_occ, "start": "2026-03-04T18:00:00-05:00",
                       "seats_left": 1}]
    assert [g["occurrence_id"] for g in _slots(staff, d, within_days=14)["groups"]][:2] == [open_occ, later_occ]


def test_a_therapist_gets_only_their_own_slots_and_groups(frozen_clock, make_api, clinic, make_therapist):
    own = make_therapist("Own")
    pid = clinic.patient()
    clinic.care_team(pid, own)
    d = clinic.discharge(pid, MONDAY)
    clinic.group(local(date(2026, 3, 4), 18))  # facilitated by the clinic's therapist
    _, (mine,) = clinic.group(local(date(2026, 3, 5), 18), facilitator=own)
    found = _slots(make_api("therapist", own), d)
    assert {s["therapist_id"] for s in found["slots"]} == {own}
    assert [g["occurrence_id"] for g in found["groups"]] == [mine]


def test_query_is_checked(staff, clinic):
    d = clinic.discharge(clinic.patient(), MONDAY)
    r = staff.get(f"/discharges/{d}/first-slots?within_days=0&duration=4&x=1")
    assert r.status_code == 422
    assert set(r.get_json()["errors"]) == {"within_days", "duration", "x"}


def test_a_discharge_long_past_has_no_first_slots(staff, clinic):
    d = clinic.discharge(clinic.patient(), MONDAY - timedelta(days=30))
    assert _slots(staff, d) == {"slots": [], "groups": []}
