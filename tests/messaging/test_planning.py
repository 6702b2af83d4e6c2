"""When texts are planned, and what a change to a booking or a patient does to them.

Every domain call gets a fixed `now`; the clinic is in New York unless a test says otherwise.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from scheduler.core import timeutil
from scheduler.extensions import db
from scheduler.messaging import dispatch, sms
from scheduler.models import Appointment, Message
from scheduler.scheduling import appointments, patients

NY = "America/New_York"
LA = "America/Los_Angeles"
ALL_HOURS = ((0, 1, 2, 3, 4, 5, 6), "00:00", "23:59")


def ny(day: int, hh: int, mm: int = 0, month: int = 3, tz: str = NY) -> datetime:
    """A wall time in 2026 (New York unless `tz`) as an aware UTC instant."""
    return timeutil.localize(datetime(2026, month, day, hh, mm), tz).astimezone(UTC)


def book(app, therapist: int, patient: int, start: datetime, now: datetime, minutes: int = 50) -> int:
    with app.app_context():
        appt = appointments.book(db.session, therapist, patient, start, minutes, now)
        db.session.commit()
        return appt.id


def texts_of(app, patient: int) -> list[Message]:
    with app.app_context():
        found = db.session.scalars(select(Message).where(Message.patient_id == patient,
                                                         Message.direction == "out").order_by(Message.id)).all()
        db.session.expunge_all()
        return list(found)


def live(app, patient: int) -> dict[str, tuple[str, datetime]]:
    """The patient's reminders that are still to go out or were skipped: kind:offset -> (status, due)."""
    return {f"{m.kind}:{m.offset_minutes}:{m.session_start_dt.isoformat()}": (m.status, m.due_at)
            for m in texts_of(app, patient) if m.status in ("pending", "skipped")}


def run(app, now: datetime) -> dict:
    with app.app_context():
        return dispatch.run_once(db.session, lambda: now, sms.make_backend(app.config))


def outbox(app) -> list[str]:
    return [entry.body for entry in app.extensions.get("sms_outbox", [])]


@pytest.fixture
def setup(app, make_therapist, make_patient):
    return make_therapist(hours=ALL_HOURS), make_patient()


# -- item 6: only what the patient was told counts as a change ----------------------------------
@pytest.mark.parametrize("change", [dict(duration_minutes=80), dict(duration_minutes=20),
                                    "same start, new length", "same start"])
def test_changing_only_the_length_neither_texts_nor_unconfirms(app, setup, change):
    therapist, patient = setup
    now = ny(2, 10)
    appt_id = book(app, therapist, patient, ny(5, 10), now)
    with app.app_context():
        appointments.confirm(db.session, db.session.get(Appointment, appt_id), now)
        db.session.commit()
    before = [(m.id, m.status, m.due_at) for m in texts_of(app, patient)]
    if change == "same start, new length":
        change = dict(start=ny(5, 10), duration_minutes=30)
    elif change == "same start":
        change = dict(start=ny(5, 10).astimezone(timeutil.zone(LA)))  # the same instant, said otherwise
    with app.app_context():
        appointments.reschedule(db.session, appt_id, ny(2, 11), **change)
        db.session.commit()
        appt = db.session.get(Appointment, appt_id)
        assert appt.status == "confirmed"
        if "duration_minutes" in change:
            assert appt.end_dt - appt.start_dt == timedelta(minutes=change["duration_minutes"])
    assert [(m.id, m.status, m.due_at) for m in texts_of(app, patient)] == before


def test_moving_the_start_texts_and_asks_for_a_new_confirmation(app, setup):
    therapist, patient = setup
    now = ny(2, 10)
    appt_id = book(app, therapist, patient, ny(5, 10), now)
    with app.app_context():
        appointments.confirm(db.session, db.session.get(Appointment, appt_id), now)
        appointments.reschedule(db.session, appt_id, ny(2, 11), start=ny(5, 11), duration_minutes=30)
        db.session.commit()
        assert db.session.get(Appointment, appt_id).status == "scheduled"
    assert [m.kind for m in texts_of(app, patient) if m.status == "pending"][0] == "rescheduled"
