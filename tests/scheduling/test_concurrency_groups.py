"""Simultaneous enrollments: capacity is never exceeded and the waitlist stays gap-free, on both engines."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from scheduler.api import groups as groups_api
from scheduler.core import auth, clock
from scheduler.core.settings import current
from scheduler.extensions import db
from scheduler.models import Enrollment, Message
from scheduler.scheduling import groups, roster
from tests.support import NOW, racing

THREADS = 40
CAPACITY = 12



@pytest.fixture
def group_id(app, make_therapist):
    with app.app_context():
        group = groups.create_group(
            db.session, title="Evening circle", facilitator_id=make_therapist(), capacity=CAPACITY,
            local_start=datetime(2026, 3, 3, 18), duration_minutes=90, timezone="America/New_York",
            rrule="FREQ=WEEKLY;COUNT=12", now=NOW, settings=current())
        db.session.commit()
        return group.id


def seated(app, gid: int) -> tuple[list[int], list[int]]:
    """(patients enrolled, patients waitlisted in position order), read afresh."""
    with app.app_context():
        rows = db.session.scalars(select(Enrollment).where(Enrollment.group_id == gid,
                                                           Enrollment.status != "dropped")).all()
        enrolled = [e.patient_id for e in rows if e.status == "enrolled"]
        waiting = sorted((e for e in rows if e.status == "waitlisted"),
                         key=lambda e: roster.waitlist_position(db.session, e))
        assert [roster.waitlist_position(db.session, e) for e in waiting] == list(range(1, len(waiting) + 1))
        return enrolled, [e.patient_id for e in waiting]


def test_enrol_in_domain_functions(app, make_patient, group_id):
    pids = [make_patient() for _ in range(THREADS)]

    def enrol(i: int):
        enrollment = roster.enroll(db.session, group_id, pids[i], NOW + timedelta(microseconds=i), settings=current())
        answer = (enrollment.status, roster.waitlist_position(db.session, enrollment))
        db.session.commit()
        return answer

    outcomes = racing.run_together(app, enrol, THREADS)
    assert [o for o in outcomes if not isinstance(o, tuple)] == []
    assert sum(status == "enrolled" for status, _ in outcomes) == CAPACITY
    assert sorted(p for status, p in outcomes if status == "waitlisted") == list(range(1, THREADS - CAPACITY + 1))
    enrolled, waiting = seated(app, group_id)
    assert len(enrolled) == CAPACITY and len(waiting) == THREADS - CAPACITY
    assert set(enrolled) | set(waiting) == set(pids)
    with app.app_context():  # reminders only for those with a seat
        texted = set(db.session.scalars(select(Message.patient_id).distinct()))
    assert texted == set(enrolled)


def test_enrol_and_drop_through_the_api(app, make_patient, group_id, monkeypatch):
    monkeypatch.setattr(groups_api, "now", lambda: NOW)  # the group meets in March 2026
    pids = [make_patient() for _ in range(THREADS)]
    with app.app_context():
        user = auth.create_user(db.session, "coordinator@clinic.test", "coordinator", NOW)
        token = auth.issue_token(db.session, user, clock.now())  # valid by the real clock the API reads
        db.session.commit()
    headers = {"Authorization": f"Bearer {token}"}

    def enrol(i: int):
        r = app.test_client().post(f"/api/v1/groups/{group_id}/enrollments",
                                   json={"patient_id": pids[i]}, headers=headers)
        return r.status_code, r.get_json()

    outcomes = racing.run_together(app, enrol, THREADS)
    assert {code for code, _ in outcomes} == {201}, outcomes
    answers = [body for _, body in outcomes]
    assert sum(a["status"] == "enrolled" for a in answers) == CAPACITY
    assert sorted(a["position"] for a in answers if a["status"] == "waitlisted") == list(
        range(1, THREADS - CAPACITY + 1))

    # Now everyone seated leaves at once: each freed seat goes to the next in line, exactly once.
    enrolled, waiting = seated(app, group_id)

    def drop(i: int):
        if i >= CAPACITY:
            return None
        r = app.test_client().delete(f"/api/v1/groups/{group_id}/enrollments/{enrolled[i]}",
                                     headers=headers)
        return r.status_code, r.get_json()["promoted_patient_ids"]

    outcomes = racing.run_together(app, drop, THREADS)[:CAPACITY]
    assert {code for code, _ in outcomes} == {200}
    promoted = [pid for _, ids in outcomes for pid in ids]
    assert sorted(promoted) == sorted(waiting[:CAPACITY])
    now_enrolled, now_waiting = seated(app, group_id)
    assert sorted(now_enrolled) == sorted(waiting[:CAPACITY])
    assert now_waiting == waiting[CAPACITY:]
    with app.app_context():
        notices = db.session.scalar(select(func.count()).select_from(Message).where(
            Message.kind == "waitlist_promoted"))
    assert notices == CAPACITY
