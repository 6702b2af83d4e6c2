"""In the browser, as a therapist would: the week, booking from a free slot (mouse and keyboard),
rescheduling, cancelling with a reason; axe on every page, after htmx swaps and with the dialog open."""
from __future__ import annotations

from datetime import timedelta

import pytest

from scheduler.core import clock
from scheduler.core.settings import current
from scheduler.extensions import db
from scheduler.models import Appointment, AvailabilityRule, Therapist
from scheduler.scheduling import appointments
from tests.support import NOW, next_monday, ny
from tests.support.browser import assert_accessible, dana_and_two_patients

pytestmark = pytest.mark.browser

MON = next_monday()
WED = MON + timedelta(days=2)
WED_LABEL = f"{WED:%a %b} {WED.day}"


@pytest.fixture
def clinic(live_app):
    """A therapist (Mon-Fri 9-5) with two patients, one already booked on Wednesday at 10."""
    with live_app.app_context():
        t, people = dana_and_two_patients(db.session, clock.now())
        appt = appointments.book(db.session, t.id, people[0].id, ny(WED, 10), 50, clock.now(), settings=current())
        db.session.commit()
        return {"therapist": t.id, "alex": people[0].id, "jordan": people[1].id, "appt": appt.id}


def _week(page):
    page.goto(f"/calendar?week={WED.isoformat()}")
    return page


def _appointments(live_app, patient_id):
    with live_app.app_context():
        return [(a.start_dt, a.status) for a in db.session.query(Appointment).filter_by(patient_id=patient_id)
                if a.status != "cancelled"]


def _booking_dialog(page):
    """The booking dialog, once htmx has bound its fields.

    htmx wires up swapped-in content when the swap settles, a moment after it shows: text typed
    before then starts no patient search (a loaded machine makes the moment longer).
    """
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Patient").wait_for()
    page.wait_for_function("() => !document.querySelector('#dialog .htmx-added, #dialog-body.htmx-settling')")
    return dialog


def test_book_from_a_free_slot_with_the_mouse(live_app, clinic, signed_in, shot):
    page = signed_in("therapist", clinic["therapist"])
    _week(page)
    assert page.get_by_role("link", name="Alex Morgan").first.is_visible()
    assert_accessible(page, "week view")
    shot(page, "calendar-week")
    page.get_by_role("button", name=f"Book {WED_LABEL}, 2:00 PM", exact=True).click()
    dialog = _booking_dialog(page)
    assert_accessible(page, "booking dialog open")
    dialog.get_by_label("Patient").fill("jord")
    dialog.get_by_role("radio", name="Jordan Price").click()  # the htmx search's answer
    assert_accessible(page, "booking dialog after the patient search swap")
    shot(page, "booking-dialog")
    dialog.get_by_label("Duration").fill("45")
    dialog.get_by_role("button", name="Book", exact=True).click()
    page.get_by_role("status").get_by_text("Booked Jordan Price").wait_for()
    assert page.get_by_role("link", name="Jordan Price").first.is_visible()
    starts = _appointments(live_app, clinic["jordan"])
    assert [s for s, _ in starts] == [ny(WED, 14)]


def test_book_from_a_free_slot_with_the_keyboard(live_app, clinic, signed_in):
    page = signed_in("therapist", clinic["therapist"])
    _week(page)
    page.get_by_role("button", name=f"Book {WED_LABEL}, 3:30 PM", exact=True).focus()
    page.keyboard.press("Enter")
    _booking_dialog(page)
    # The dialog's script moves focus just after the swap: wait for it (a loaded machine is slower).
    page.wait_for_function("() => document.activeElement && document.activeElement.id === 'f-patient'",
                           timeout=5000)
    assert page.evaluate("() => document.activeElement.id") == "f-patient"
    page.keyboard.type("Alex")
    page.get_by_role("radio", name="Alex Morgan").wait_for()
    page.keyboard.press("Tab")  # into the results
    page.keyboard.press("Space")
    page.get_by_role("dialog").get_by_label("Duration").focus()
    page.keyboard.press("Enter")  # submits the form
    page.get_by_role("status").get_by_text("Booked Alex Morgan").wait_for()
    assert ny(WED, 15, 30) in [s for s, _ in _appointments(live_app, clinic["alex"])]


def test_a_mistake_in_the_dialog_is_shown_beside_the_field(live_app, clinic, signed_in):
    page = signed_in("therapist", clinic["therapist"])
    _week(page)
    page.get_by_role("button", name=f"Book {WED_LABEL}, 4:00 PM", exact=True).click()
    dialog = _booking_dialog(page)
    dialog.get_by_label("Patient").fill("Alex")
    dialog.get_by_role("radio", name="Alex Morgan").click()
    dialog.get_by_label("Duration").fill("120")  # runs past 5 PM
    dialog.get_by_role("button", name="Book", exact=True).click()
    dialog.get_by_text("outside the therapist's working hours").wait_for()
    assert_accessible(page, "booking dialog with an error")
    assert dialog.get_by_role("radio", name="Alex Morgan").is_checked()  # what was chosen is kept
    assert len(_appointments(live_app, clinic["alex"])) == 1


def test_reschedule_then_cancel_with_a_reason(live_app, clinic, signed_in, shot):
    page = signed_in("therapist", clinic["therapist"])
    _week(page)
    page.get_by_role("link", name="Alex Morgan").first.click()
    page.get_by_role("heading", name=f"{WED_LABEL}, 10:00 AM").wait_for()
    assert page.get_by_text("booked", exact=True).first.is_visible()
    assert_accessible(page, "appointment page")
    shot(page, "appointment")
    page.get_by_label("New time").select_option(label=f"{WED_LABEL}, 1:00 PM")
    page.get_by_role("button", name="Reschedule").click()
    page.get_by_role("status").get_by_text("Moved to").wait_for()
    assert _appointments(live_app, clinic["alex"]) == [(ny(WED, 13), "scheduled")]
    page.get_by_label("Reason").fill("The patient is travelling")
    page.get_by_role("button", name="Cancel appointment").click()
    page.get_by_role("dialog").get_by_role("button", name="Yes, cancel appointment").click()
    page.get_by_role("status").get_by_text("The appointment is cancelled").wait_for()
    with live_app.app_context():
        appt = db.session.get(Appointment, clinic["appt"])
        assert (appt.status, appt.cancel_reason) == ("cancelled", "The patient is travelling")


def test_the_other_pages_pass_axe(live_app, clinic, signed_in, shot):
    page = signed_in("therapist", clinic["therapist"])
    page.goto(f"/?day={WED.isoformat()}")
    assert_accessible(page, "today (therapist)")
    page.goto("/availability")
    assert_accessible(page, "availability")
    shot(page, "availability")
    page.get_by_label("Saturday from").fill("10:00")
    page.get_by_label("Saturday until").fill("09:00")
    page.get_by_role("button", name="Save hours").click()
    page.get_by_text("Saturday until must be after start").wait_for()
    assert_accessible(page, "availability with an error")
    page.set_viewport_size({"width": 420, "height": 900})
    _week(page)
    assert page.get_by_role("button", name=f"Book {WED_LABEL}, 2:00 PM", exact=True).is_visible()
    assert_accessible(page, "week as an agenda on a narrow screen")
    shot(page, "calendar-narrow")


def test_coordinator_day_at_a_glance_passes_axe(live_app, clinic, signed_in, shot):
    from datetime import time
    with live_app.app_context():
        for name, start in (("Marcus Lee", 12), ("Priya Natarajan", 8)):
            t = Therapist(name=name, timezone="America/New_York", created_at=NOW)
            t.rules = [AvailabilityRule(weekday=d, start_time=time(start), end_time=time(start + 8)) for d in range(5)]
            db.session.add(t)
            db.session.flush()
            appointments.book(db.session, t.id, clinic["jordan"] if start == 12 else clinic["alex"],
                              ny(WED, start + 1), 50, clock.now(), settings=current())
        db.session.commit()
    page = signed_in("coordinator")
    page.goto(f"/?day={WED.isoformat()}")
    assert page.get_by_role("link", name="Alex Morgan").first.is_visible()
    assert page.get_by_text("Priya Natarajan", exact=True).is_visible()
    assert page.get_by_text("Marcus Lee", exact=True).is_visible()
    assert_accessible(page, "day at a glance")
    shot(page, "day-at-a-glance")
