"""A patient's Aftercare section: record, edit and end a plan; book the first session in one press."""
from __future__ import annotations

import re
from datetime import date, datetime

import pytest
from sqlalchemy import select

from scheduler.core.timeutil import UTC
from scheduler.extensions import db
from scheduler.models import Appointment, AuditEvent, AvailabilityException, Discharge, Enrollment, Message
from scheduler.scheduling import care_teams
from tests.support import NOW, add_group, count

DISCHARGE = {"discharge_date": "2026-03-02", "plan_days": "60", "individual_per_week": "2",
             "groups_per_week": "0"}
FIRST_DANA = "Book first session with Dana Reyes, Tue Mar 3, 9:00 AM"


@pytest.fixture
def patient(frozen_clock, app, staff, make_patient):
    """A patient on Dana's care team (the clock frozen at NOW, Mon Mar 2 2026, before any sign-in)."""
    pid = make_patient(name="Ana Mine")
    with app.app_context():
        care_teams.add(db.session, pid, [staff.therapist_id], NOW, None)
        db.session.commit()
    return pid


def _discharges(app, pid):
    with app.app_context():
        return [(d.discharge_date, d.plan_days, d.individual_per_week, d.groups_per_week, d.ended_reason)
                for d in db.session.scalars(select(Discharge).where(Discharge.patient_id == pid))]


def _record(staff, pid, **overrides):
    return staff.coordinator.post(f"/patients/{pid}/discharges/new", {**DISCHARGE, **overrides})


def _buttons(html: str) -> list[str]:
    return [b.strip() for b in re.findall(r"<button[^>]*>([^<]*)</button>", html)]


def test_record_a_discharge_through_the_page(app, staff, patient):
    page = staff.coordinator.text(f"/patients/{patient}")
    assert '<h2 id="aftercare">Aftercare</h2>' in page and "Record discharge" in page
    form = staff.coordinator.text(f"/patients/{patient}/discharges/new")
    for label in ("Discharge date", "Plan length (days)", "Individual sessions a week", "Group meetings a week"):
        assert label in form
    response = _record(staff, patient)
    assert response.status_code == 302
    assert _discharges(app, patient) == [(date(2026, 3, 2), 60, 2, 0, None)]
    page = staff.coordinator.text(response.location)
    assert "Discharge recorded." in page and "Discharged Mon Mar 2" in page
    assert "0 of 0 planned sessions attended" in page and "Still within 7 days" in page
    with app.app_context():
        assert db.session.scalar(select(AuditEvent.action).where(AuditEvent.entity == "discharge")) == "create"


def test_bad_discharge_input_is_answered_beside_each_field(app, staff, patient):
    response = _record(staff, patient, discharge_date="2026-02-30", plan_days="400", individual_per_week="x",
                       groups_per_week="8")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    for field in ("discharge_date", "plan_days", "individual_per_week", "groups_per_week"):
        assert f'id="e-{field}"' in html, field
    assert 'value="400"' in html and 'value="x"' in html  # what was typed is kept
    assert _discharges(app, patient) == []
    response = _record(staff, patient, discharge_date="2026-05-30")  # more than 30 days ahead
    assert response.status_code == 422 and "30 days ahead" in response.get_data(as_text=True)
    assert _discharges(app, patient) == []
    assert staff.therapist.post(f"/patients/{patient}/discharges/new", DISCHARGE).status_code == 403


def test_edit_and_end_a_plan(app, staff, patient):
    _record(staff, patient)
    with app.app_context():
        did = db.session.scalar(select(Discharge.id))
    edit = staff.coordinator.text(f"/patients/{patient}/discharges/{did}/edit")
    assert 'value="60"' in edit
    response = staff.coordinator.post(f"/patients/{patient}/discharges/{did}/edit",
                                      {**DISCHARGE, "plan_days": "90", "groups_per_week": "1"})
    assert response.status_code == 302
    assert _discharges(app, patient) == [(date(2026, 3, 2), 90, 2, 1, None)]
    page = staff.coordinator.text(f"/patients/{patient}")
    assert "End plan" in page and "Moved away" in page  # the reason's labels
    bad = staff.coordinator.post(f"/patients/{patient}/discharges/{did}/end", {"reason": "bored"})
    assert bad.status_code == 422 and 'id="e-reason"' in bad.get_data(as_text=True)
    response = staff.coordinator.post(f"/patients/{patient}/discharges/{did}/end", {"reason": "moved"})
    assert response.status_code == 302
    assert _discharges(app, patient)[0][4] == "moved"
    page = staff.coordinator.text(f"/patients/{patient}")
    assert "Ended: Moved away." in page and "Book first session" not in page
    again = staff.coordinator.post(f"/patients/{patient}/discharges/{did}/end", {"reason": "moved"})
    assert again.status_code == 409


def test_first_session_buttons_book_in_one_press(app, staff, patient):
    _record(staff, patient)
    html = staff.coordinator.text(f"/patients/{patient}")
    buttons = [b for b in _buttons(html) if b.startswith("Book first session")]
    assert buttons[0] == FIRST_DANA  # the care team first, earliest first
    assert "Book first session with Marcus Lee, Tue Mar 3, 9:00 AM" in buttons
    form = re.search(r'<form method="post" action="([^"]+)">\s*<input[^>]*>'
                     r'<input type="hidden" name="therapist" value="(\d+)"><input type="hidden" name="start" '
                     r'value="([^"]+)">\s*<button type="submit">' + re.escape(FIRST_DANA), html)
    action, therapist, start = form.groups()
    response = staff.coordinator.post(action, {"therapist": therapist, "start": start})
    assert response.status_code == 302
    with app.app_context():
        appt = db.session.scalar(select(Appointment))
        assert (appt.therapist_id, appt.patient_id) == (staff.therapist_id, patient)
        assert appt.start_dt.astimezone(UTC) == datetime(2026, 3, 3, 14, 0, tzinfo=UTC)
        assert count(db.session, Message, Message.kind == "booked") == 1
        assert db.session.scalar(select(AuditEvent.entity).order_by(AuditEvent.id.desc())
                                 .where(AuditEvent.action == "create")) == "appointment"
    page = staff.coordinator.text(f"/patients/{patient}")
    assert "First session booked: Tue Mar 3 at 9:00 AM." in page
    assert "Book first session" not in page  # something is booked on days 1-7 now
    # The same press again (a stale page) books nothing more.
    assert staff.coordinator.post(action, {"therapist": therapist, "start": start}).status_code == 409
    with app.app_context():
        assert count(db.session, Appointment) == 1


def test_a_therapist_sees_and_books_only_their_own_slots(app, staff, patient):
    _record(staff, patient)
    html = staff.therapist.text(f"/patients/{patient}")
    buttons = [b for b in _buttons(html) if b.startswith("Book first session")]
    assert buttons and all(b.startswith("Book first session with Dana Reyes") for b in buttons)
    assert "Record discharge" not in html and ">Edit<" not in html and "End plan" not in html
    with app.app_context():
        did = db.session.scalar(select(Discharge.id))
    marcus = staff.therapist.post(f"/patients/{patient}/discharges/{did}/first-session",
                                  {"therapist": staff.other_therapist_id, "start": "2026-03-03T09:00:00-05:00"})
    assert marcus.status_code == 404
    with app.app_context():
        assert count(db.session, Appointment) == 0


def test_no_slot_within_7_days_offers_the_next_ones_as_late(app, staff, patient):
    with app.app_context():
        db.session.add(AvailabilityException(therapist_id=staff.therapist_id, reason="away",
                                             start_dt=datetime(2026, 3, 3, 5, tzinfo=UTC),
                                             end_dt=datetime(2026, 3, 12, 4, tzinfo=UTC)))
        db.session.commit()
    _record(staff, patient)
    html = staff.therapist.text(f"/patients/{patient}")
    assert "No free session within 7 days of discharge" in html
    buttons = [b for b in _buttons(html) if b.startswith("Book first session")]
    assert buttons[0] == "Book first session with Dana Reyes, Thu Mar 12, 9:00 AM (late)"


def test_a_group_meeting_with_a_free_seat_is_offered_and_enrolls(app, staff, patient):
    with app.app_context():
        group = add_group(db.session, staff.therapist_id, datetime(2026, 3, 4, 23, tzinfo=UTC))  # Wed 6 PM
    _record(staff, patient)
    html = staff.therapist.text(f"/patients/{patient}")
    assert "Group meeting Wed Mar 4, 6:00 PM" in html and "10 seats left" in html
    action = re.search(r'action="([^"]+/first-group)"', html).group(1)
    response = staff.therapist.post(action, {"group": str(group)})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(Enrollment.status).where(Enrollment.patient_id == patient)) == "enrolled"
    page = staff.therapist.text(f"/patients/{patient}")
    assert "Enrolled in the group." in page and "Book first session" not in page


def test_an_old_plan_offers_no_first_session(app, staff, patient, frozen_clock):
    _record(staff, patient, discharge_date="2026-02-01")  # day 29 today: past the late search too
    html = staff.coordinator.text(f"/patients/{patient}")
    assert "Discharged Sun Feb 1" in html and "Nothing booked" in html
    assert "Book first session" not in html and "No free session within 7 days" not in html
