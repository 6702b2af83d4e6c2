"""GET /tasks: the tasks the caller may see, by kind, patient and open or done."""
from __future__ import annotations

from datetime import timedelta

from scheduler.models import Task
from tests.support import NOW


def _task(ctx, pid, kind, done=False, detail=None, cause=None):
    ctx.add(Task(patient_id=pid, kind=kind, detail=detail, cause=cause, created_at=NOW,
                 done_at=NOW + timedelta(hours=1) if done else None))
    ctx.commit()


def test_filters_and_reasons(frozen_clock, ctx, make_api, clinic):
    a, b = clinic.patient(), clinic.patient()
    _task(ctx, a, "no_booking_3d", detail="Discharged Feb 20, nothing booked after 3 days", cause="discharge:1")
    _task(ctx, a, "opt_out", done=True)
    _task(ctx, b, "missed_twice", detail="Missed two sessions in a row (Feb 25 and Feb 27)", cause="appointment:3")
    _task(ctx, None, "group_clash")
    api = make_api("coordinator")
    every = api.get("/tasks").get_json()["tasks"]
    assert len(every) == 4
    assert {t["kind"]: t["reason"] for t in every}["opt_out"] == "Opted out of texts"
    assert [t["reason"] for t in api.get("/tasks?kind=no_booking_3d").get_json()["tasks"]] == [
        "Discharged Feb 20, nothing booked after 3 days"]
    assert {t["kind"] for t in api.get(f"/tasks?patient_id={a}").get_json()["tasks"]} == {"no_booking_3d", "opt_out"}
    assert {t["kind"] for t in api.get(f"/tasks?patient_id={a}&open=true").get_json()["tasks"]} == {"no_booking_3d"}
    done = api.get("/tasks?open=false").get_json()["tasks"]
    assert [(t["kind"], t["done_at"] is not None) for t in done] == [("opt_out", True)]
    assert set(done[0]) == {"id", "kind", "patient_id", "reason", "created_at", "done_at"}
    bad = api.get("/tasks?kind=nothing&open=maybe&patient_id=0")
    assert bad.status_code == 422 and set(bad.get_json()["errors"]) == {"kind", "open", "patient_id"}


def test_a_therapist_sees_tasks_about_patients_in_their_care(frozen_clock, ctx, make_api, make_therapist, clinic):
    own = make_therapist("Own")
    mine, other = clinic.patient(), clinic.patient()
    clinic.care_team(mine, own)
    _task(ctx, mine, "quiet_14d", cause="discharge:1")
    _task(ctx, other, "quiet_14d", cause="discharge:2")
    _task(ctx, None, "group_clash")
    therapist = make_api("therapist", own)
    assert [t["patient_id"] for t in therapist.get("/tasks").get_json()["tasks"]] == [mine]
    hidden, missing = therapist.get(f"/tasks?patient_id={other}"), therapist.get("/tasks?patient_id=999999")
    assert hidden.status_code == missing.status_code == 200
    assert hidden.get_json() == missing.get_json() == {"tasks": []}
