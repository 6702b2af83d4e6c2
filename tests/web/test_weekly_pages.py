"""The booking form's Repeat weekly and Weeks, and the appointment page's "this one" or "this and later"."""
from __future__ import annotations

from datetime import timedelta

import pytest

from scheduler.aftercare import plans
from scheduler.core import clock
from scheduler.extensions import db
from scheduler.models import Appointment, Message, Patient
from tests.support import next_monday, ny

WED = next_monday() + timedelta(days=2)
SLOT = f"{WED.isoformat()}T11:00"


@pytest.fixture
def patient(make_patient):
    return make_patient(name="Alex Morgan", phone="+12015550101")


def _form(staff, patient, **extra):
    return {"therapist": str(staff.therapist_id), "start": SLOT, "patient_id": str(patient), "duration": "50",
            "repeat": "on", **extra}


def _starts(app, patient):
    with app.app_context():
        return [a.start_dt for a in db.session.query(Appointment).filter_by(patient_id=patient)
                .order_by(Appointment.start_dt)]


def _discharge(app, patient, plan_days):
    with app.app_context():
        # Yesterday by UTC is never after today in the patient's zone (New York), whatever the hour.
        plans.record(db.session, patient, clock.now().date() - timedelta(days=1), clock.now(), plan_days=plan_days)
        db.session.commit()


def test_the_form_has_repeat_weekly_and_weeks(staff):
    html = staff.coordinator.text(f"/appointments/new?therapist={staff.therapist_id}&start={SLOT}")
    assert 'type="checkbox" name="repeat"' in html and "Repeat weekly</label>" in html
    assert '<label for="f-weeks">Weeks</label>' in html and 'max="26"' in html


def test_weeks_books_that_many_and_says_what_was_booked(app, staff, patient):
    response = staff.coordinator.post("/appointments", _form(staff, patient, weeks="3"))
    assert response.status_code == 302, response.get_data(as_text=True)[:800]
    assert _starts(app, patient) == [ny(WED + timedelta(weeks=w), 11) for w in range(3)]
    last = WED + timedelta(weeks=2)
    assert (f"Booked Alex Morgan: 3 weekly sessions at 11:00 AM, {WED:%a %b} {WED.day} to {last:%a %b} {last.day}."
            in staff.coordinator.text(response.location))
    with app.app_context():
        assert db.session.query(Message).filter_by(patient_id=patient, kind="booked_weekly").count() == 1


def test_weeks_left_empty_is_the_weeks_left_in_the_plan(app, staff, patient):
    _discharge(app, patient, plan_days=20)
    with app.app_context():
        expected = plans.weekly_sessions_left(db.session.get(Patient, patient), WED, clock.now())
    html = staff.coordinator.text(f"/appointments/new?therapist={staff.therapist_id}&start={SLOT}&patient_id={patient}")
    assert f'name="weeks" type="number" value="{expected}"' in html  # shown as the default
    response = staff.coordinator.post("/appointments", _form(staff, patient, weeks=""))
    assert response.status_code == 302
    assert len(_starts(app, patient)) == expected


def test_weeks_left_empty_without_a_plan_is_asked_for(app, staff, patient):
    html = staff.coordinator.post("/appointments", _form(staff, patient, weeks="")).get_data(as_text=True)
    assert "Weeks is required: this patient has no active aftercare plan" in html
    assert _starts(app, patient) == []


@pytest.mark.parametrize("weeks", ["0", "27"])
def test_weeks_out_of_bounds_is_shown_beside_it(app, staff, patient, weeks):
    response = staff.coordinator.post("/appointments", _form(staff, patient, weeks=weeks))
    assert response.status_code == 422 and 'id="e-weeks"' in response.get_data(as_text=True)
    assert _starts(app, patient) == []


def test_clashes_are_listed_and_nothing_is_booked(app, staff, patient, make_patient):
    other = make_patient(name="Jordan Price")
    assert staff.coordinator.post("/appointments", {**_form(staff, other), "start": f"{(WED + timedelta(weeks=1)).isoformat()}T11:00",
                                                    "repeat": ""}).status_code == 302
    response = staff.coordinator.post("/appointments", _form(staff, patient, weeks="4"))
    html = response.get_data(as_text=True)
    assert response.status_code == 409
    week2 = WED + timedelta(weeks=1)
    assert f"Week 2, {week2:%a %b} {week2.day} at 11:00 AM: the therapist already has a session then" in html
    assert "1 of the 4 weekly sessions cannot be booked; nothing was booked" in html
    assert _starts(app, patient) == []


def test_cancel_offers_this_one_or_this_and_later(app, staff, patient):
    assert staff.coordinator.post("/appointments", _form(staff, patient, weeks="4")).status_code == 302
    with app.app_context():
        ids = [a.id for a in db.session.query(Appointment).filter_by(patient_id=patient).order_by(Appointment.start_dt)]
    html = staff.coordinator.text(f"/appointments/{ids[1]}")
    assert 'name="scope" value="one" checked> This one' in html and "This and later (3 weekly sessions" in html
    assert 'name="scope"' not in staff.coordinator.text(f"/appointments/{ids[3]}")  # the last: nothing later
    page = f"/appointments/{ids[1]}"
    response = staff.coordinator.post(f"{page}/cancel", {"reason": "moving", "scope": "later", "confirm": "yes"})
    assert response.status_code == 302
    assert "This and the later weekly sessions are cancelled" in staff.coordinator.text(response.location)
    with app.app_context():
        assert [db.session.get(Appointment, i).status for i in ids] == ["scheduled", "cancelled", "cancelled",
                                                                         "cancelled"]
    response = staff.coordinator.post(f"/appointments/{ids[0]}/cancel",
                                      {"reason": "", "confirm": "yes"})  # no scope: this one
    assert response.status_code == 302
