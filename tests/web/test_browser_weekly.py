"""In the browser at desktop width: booking weekly sessions from a free slot, the clashes listed
before anything is booked, then the series booked all at once."""
from __future__ import annotations

from datetime import timedelta

import pytest

from scheduler.core import clock
from scheduler.core.settings import current
from scheduler.extensions import db
from scheduler.models import Appointment
from scheduler.scheduling import appointments
from tests.support import next_monday, ny
from tests.support.browser import assert_accessible, dana_and_two_patients

pytestmark = pytest.mark.browser

MON = next_monday()
LABEL = f"{MON:%a %b} {MON.day}"


@pytest.fixture
def clinic(live_app):
    """Dana (Mon-Fri 9-5) with Alex and Jordan on her care team; Jordan has Monday 2 PM in week 3."""
    with live_app.app_context():
        t, people = dana_and_two_patients(db.session, clock.now())
        appointments.book(db.session, t.id, people[1].id, ny(MON + timedelta(weeks=2), 14), 50, clock.now(),
                          settings=current())
        db.session.commit()
        return {"therapist": t.id, "alex": people[0].id}


def test_book_weekly_sessions_from_a_free_slot(live_app, clinic, signed_in, shot):
    page = signed_in("therapist", clinic["therapist"])
    page.goto(f"/calendar?week={MON.isoformat()}")
    page.get_by_role("button", name=f"Book {LABEL}, 2:00 PM", exact=True).click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Patient").wait_for()
    page.wait_for_function("() => !document.querySelector('#dialog .htmx-added, #dialog-body.htmx-settling')")
    dialog.get_by_label("Patient").fill("Alex")
    dialog.get_by_role("radio", name="Alex Morgan").click()
    dialog.get_by_label("Repeat weekly").check()
    dialog.get_by_label("Weeks", exact=True).fill("4")
    dialog.get_by_role("button", name="Book", exact=True).click()
    clash = dialog.get_by_role("region", name="Nothing was booked: these weeks clash")
    week3 = MON + timedelta(weeks=2)
    clash.get_by_text(f"Week 3, {week3:%a %b} {week3.day} at 2:00 PM: the therapist already has a session then").wait_for()
    assert_accessible(page, "booking dialog listing clashes")
    shot(page, "booking-weekly-clash")
    with live_app.app_context():
        assert db.session.query(Appointment).filter_by(patient_id=clinic["alex"]).count() == 0
    assert dialog.get_by_label("Repeat weekly").is_checked()  # what was typed is kept
    dialog.get_by_label("Weeks", exact=True).fill("2")
    dialog.get_by_role("button", name="Book", exact=True).click()
    page.get_by_role("status").get_by_text("Booked Alex Morgan: 2 weekly sessions at 2:00 PM").wait_for()
    with live_app.app_context():
        starts = sorted(a.start_dt for a in db.session.query(Appointment).filter_by(patient_id=clinic["alex"]))
    assert starts == [ny(MON, 14), ny(MON + timedelta(weeks=1), 14)]
