"""The demo clinic as a newcomer first sees it: no first page is empty, whatever the day and hour."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from scheduler import demo
from scheduler.core import timeutil
from scheduler.core.settings import current
from scheduler.extensions import db
from scheduler.models import (
    ACTIVE_APPOINTMENT_STATUSES,
    Appointment,
    Attendance,
    GroupSeries,
    Message,
    Occurrence,
    Patient,
    User,
)
from scheduler.scheduling import roster
from tests.support.web import Pages, cheap_hash

NY = "America/New_York"


def _seed(app, now: datetime) -> None:
    with app.app_context():
        demo.seed(db.session, now, current())
        for user in db.session.scalars(select(User)):
            user.password_hash = cheap_hash()
        db.session.commit()


def _awaiting(now: datetime) -> list[Appointment]:
    return db.session.scalars(select(Appointment).where(
        Appointment.status.in_(ACTIVE_APPOINTMENT_STATUSES), Appointment.end_dt <= now)).all()


def test_the_first_pages_all_show_something(app, engine_name):
    now = datetime.now(UTC)
    _seed(app, now)
    with app.app_context():
        group = db.session.scalar(select(GroupSeries.id))
        replied = db.session.scalar(select(Message.patient_id).where(Message.kind == "reschedule"))
    coordinator = Pages(app.test_client())
    assert coordinator.sign_in("coordinator@demo.clinic").status_code == 302
    today = coordinator.text("/")
    assert "/appointments/" in today  # someone works every day: today has sessions, past or to come
    assert "/appointments/" in coordinator.text("/calendar")
    tasks = coordinator.text("/tasks")
    assert "Asked to reschedule" in tasks and "nobody understood" in tasks
    page = coordinator.text(f"/groups/{group}")
    assert "Attendance for" in page and "Enrolled" in page and "Waitlist" in page
    patient = coordinator.text(f"/patients/{replied}")
    assert "(simulated)</small>" in patient and "/appointments/" in patient
    assert "Follow-up" in coordinator.text("/reports")


@pytest.mark.parametrize("engine_name", ["sqlite"], indirect=True)
@pytest.mark.parametrize("local", ["2026-12-06T07:00", "2026-12-06T19:45", "2026-12-07T07:30", "2026-12-07T12:10",
                                   "2026-12-12T15:40", "2026-12-12T23:30", "2026-12-09T03:00"])
def test_sessions_awaiting_attendance_meetings_held_and_tasks_at_any_hour(app, engine_name, local):
    """Sunday morning and evening, Monday before and after the first session, Saturday late, mid-week night."""
    now = timeutil.localize(datetime.fromisoformat(local), NY).astimezone(UTC)
    _seed(app, now)
    with app.app_context():
        awaiting = _awaiting(now)
        assert len(awaiting) == 6  # two per therapist, each on their latest working day before now
        assert len({a.therapist_id for a in awaiting}) == 3
        assert all(now - timedelta(days=8) < a.start_dt for a in awaiting)
        assert {a.status for a in awaiting} == {"scheduled", "confirmed"}
        assert not db.session.scalars(select(Message).where(Message.appointment_id.in_([a.id for a in awaiting]))).all()
        day = timeutil.local_date_of(now, NY)
        staffed_today = db.session.scalars(select(Appointment).where(
            Appointment.start_dt >= timeutil.localize(datetime.combine(day, datetime.min.time()), NY),
            Appointment.start_dt < timeutil.localize(datetime.combine(day + timedelta(days=1), datetime.min.time()),
                                                     NY))).all()
        assert staffed_today, "today's page would be empty"
        for appt in awaiting:  # nobody has two sessions that day
            patient_day = [a for a in db.session.scalars(select(Appointment).where(
                Appointment.patient_id == appt.patient_id)) if timeutil.local_date_of(a.start_dt, NY)
                == timeutil.local_date_of(appt.start_dt, NY)]
            assert len(patient_day) == 1
        held = db.session.scalars(select(Occurrence).where(Occurrence.end_dt <= now)
                                  .order_by(Occurrence.start_dt.desc())).first()
        coordinator = db.session.scalar(select(User).where(User.email == "coordinator@demo.clinic"))
        sheet = roster.attendance_sheet(db.session, held, coordinator)
        assert sheet and all(status is not None for _, status in sheet)  # held, attendance taken
        assert db.session.scalars(select(Attendance).where(Attendance.occurrence_id == held.id)).all()
        simulated = db.session.scalars(select(Message).where(Message.simulated)).all()
        assert {m.kind for m in simulated} >= {"confirm", "reschedule", "other", "reply_confirm_ack"}
        assert db.session.scalar(select(Patient).where(Patient.opted_out_at.is_not(None))) is None
