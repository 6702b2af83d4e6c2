"""Simultaneous bookings of one time: exactly one wins, on SQLite and PostgreSQL alike."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from scheduler.core import auth, clock
from scheduler.core.settings import current
from scheduler.errors import Conflict
from scheduler.extensions import db
from scheduler.models import Appointment, Message
from scheduler.scheduling import appointments
from tests.support import NOW, at, next_monday, racing

THREADS = 30
SLOT = datetime(2026, 3, 3, 10)  # a Tuesday, 10:00 in the therapist's zone, after NOW



def book_in_domain(therapist_id: int, patient_id: int, start: datetime, minutes: int = 50) -> str:
    try:
        appointments.book(db.session, therapist_id, patient_id, start, minutes, NOW, settings=current())
        db.session.commit()
        return "booked"
    except Conflict:
        db.session.rollback()
        return "conflict"


def active_appointments(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Appointment).where(
            Appointment.status.in_(("scheduled", "confirmed"))))


@pytest.mark.parametrize("case", ["same start", "overlapping starts"])
def test_one_therapist_many_patients(app, make_therapist, make_patient, case):
    therapist = make_therapist()
    patients = [make_patient() for _ in range(THREADS)]

    def start(i):  # 10:00 for all, or 10:00..10:29 (every pair of 50-minute sessions overlaps)
        return SLOT if case == "same start" else SLOT + timedelta(minutes=i)

    outcomes = racing.run_together(app, lambda i: book_in_domain(therapist, patients[i], start(i)), THREADS)
    assert sorted(outcomes) == ["booked"] + ["conflict"] * (THREADS - 1), outcomes
    assert active_appointments(app) == 1
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Message).where(
            Message.kind == "booked")) == 1  # the losers wrote no texts


def test_one_patient_many_therapists(app, make_therapist, make_patient):
    therapists = [make_therapist(name=f"T{i}") for i in range(THREADS)]
    patient = make_patient()
    outcomes = racing.run_together(
        app, lambda i: book_in_domain(therapists[i], patient, SLOT + timedelta(minutes=i)), THREADS)
    assert sorted(outcomes) == ["booked"] + ["conflict"] * (THREADS - 1), outcomes
    assert active_appointments(app) == 1


def test_through_the_api(app, make_therapist, make_patient):
    therapist = make_therapist()
    patients = [make_patient() for _ in range(THREADS)]
    with app.app_context():
        user = auth.create_user(db.session, "coord@clinic.test", "coordinator", NOW)
        token = auth.issue_token(db.session, user, clock.now())  # valid by the real clock the API reads
        db.session.commit()
    start = at(next_monday(), 10)

    def post(i):
        r = app.test_client().post("/api/v1/appointments", headers={"Authorization": f"Bearer {token}"},
                                   json={"therapist_id": therapist, "patient_id": patients[i],
                                         "start": start, "duration_minutes": 50})
        return str(r.status_code)

    outcomes = racing.run_together(app, post, THREADS)
    assert sorted(outcomes) == ["201"] + ["409"] * (THREADS - 1), outcomes
    assert active_appointments(app) == 1
