"""In the browser, issue 17's Monday: the week at 1280 px, an appointment's texts and attendance,
the availability preview, the day at a glance and its printed day, and every main page at 390 px
(no sideways scrolling, a Menu that opens, booking done on a phone). axe on each."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from scheduler.core import clock
from scheduler.core.settings import current
from scheduler.extensions import db
from scheduler.models import Appointment, GroupSeries, Message, Task
from scheduler.scheduling import appointments
from tests.support import add_group, next_monday, ny
from tests.support.browser import assert_accessible, dana_and_two_patients

pytestmark = pytest.mark.browser

MON = next_monday()
WED = MON + timedelta(days=2)
WED_LABEL = f"{WED:%a %b} {WED.day}"
DESK, PHONE = {"width": 1280, "height": 800}, {"width": 390, "height": 844}


@pytest.fixture
def clinic(live_app):
    """Dana (Mon-Fri 9-5) with Alex's Wednesday 10 AM cancelled, Jordan at 11, a session under way
    now (attendance to take), a group in Room 4B, an open task and a failed text."""
    with live_app.app_context():
        t, people = dana_and_two_patients(db.session, clock.now())
        cancelled = appointments.book(db.session, t.id, people[0].id, ny(WED, 10), 50, clock.now(), settings=current())
        appointments.cancel(db.session, cancelled.id, clock.now(), "travelling", settings=current())
        kept = appointments.book(db.session, t.id, people[1].id, ny(WED, 11), 50, clock.now(), settings=current())
        begun = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=20)
        now_appt = Appointment(therapist_id=t.id, patient_id=people[0].id, start_dt=begun,
                               end_dt=begun + timedelta(minutes=50), status="scheduled", version=1,
                               created_at=begun, updated_at=begun)
        later = Appointment(therapist_id=t.id, patient_id=people[1].id, start_dt=begun + timedelta(hours=2),
                            end_dt=begun + timedelta(hours=2, minutes=50), status="scheduled", version=1,
                            created_at=begun, updated_at=begun)
        db.session.add_all([now_appt, later])
        group = add_group(db.session, t.id, ny(WED, 15))
        db.session.get(GroupSeries, group).location = "Room 4B"
        db.session.add(Task(patient_id=people[1].id, kind="reschedule_request", created_at=begun))
        db.session.add(Message(patient_id=people[1].id, kind="reminder", status="failed", error_code=30003,
                               created_at=begun, sent_at=begun))
        db.session.commit()
        return {"therapist": t.id, "alex": people[0].id, "jordan": people[1].id, "cancelled": cancelled.id,
                "kept": kept.id, "now": now_appt.id}


def _fits(page) -> None:
    """Nothing is wider than the screen: no sideways scrolling."""
    width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], f"{page.url} is {width[0]} px wide at {width[1]} px"


def test_the_week_at_a_desk(live_app, clinic, signed_in, shot):
    page = signed_in("therapist", clinic["therapist"])
    page.set_viewport_size(DESK)
    page.goto(f"/calendar?week={WED.isoformat()}")
    scroller = page.get_by_role("region", name=f"Dana Reyes, week of {MON:%a %b} {MON.day}")
    sizes = scroller.evaluate("el => [el.scrollWidth, el.clientWidth]")
    assert sizes[0] <= sizes[1], f"seven days need {sizes[0]} px, the screen gives {sizes[1]}"
    nine = page.get_by_text("9:00 AM", exact=True).first.bounding_box()
    five = page.get_by_text("5:00 PM", exact=True).first.bounding_box()
    assert five["y"] - nine["y"] < 520, "a working day should need little scrolling"
    cancelled = page.get_by_role("region", name="Cancelled").get_by_role("link", name=f"{WED_LABEL}, 10:00 AM–10:50 AM Alex Morgan")
    assert cancelled.is_visible()
    assert_accessible(page, "week at 1280")
    shot(page, "week-desk")
    page.get_by_role("button", name=f"Book {WED_LABEL}, 10:00 AM", exact=True).click()  # not covered any more
    page.get_by_role("dialog").get_by_label("Patient").wait_for()
    page.keyboard.press("Escape")
    page.goto("/calendar")
    page.get_by_role("link", name="Next free time").click()
    page.wait_for_url("**week=*")
    assert page.get_by_role("button", name=re.compile("^Book ")).first.is_visible()


def test_an_appointments_texts_history_and_attendance(live_app, clinic, signed_in, shot):
    page = signed_in("therapist", clinic["therapist"])
    page.set_viewport_size(DESK)
    page.goto(f"/appointments/{clinic['kept']}")
    texts = page.get_by_role("region", name="Texts")
    assert texts.get_by_text("Booking text queued for").is_visible()
    assert page.get_by_role("region", name="History").get_by_text("Booked").is_visible()
    shot(page, "appointment-texts")
    page.goto(f"/appointments/{clinic['now']}")
    assert page.get_by_text("Not recorded yet.").is_visible()
    page.get_by_role("button", name="No-show").click()
    page.get_by_role("status").get_by_text("Recorded: No-show").wait_for()
    assert page.get_by_role("button", name="No-show", pressed=True).is_visible()
    assert page.get_by_role("button", name="Attended", pressed=False).is_visible()
    assert page.get_by_role("region", name="History").get_by_text("Attendance: No-show").is_visible()
    assert_accessible(page, "appointment with attendance recorded")


def test_the_availability_preview_shows_the_week_of_the_time_off(live_app, clinic, signed_in):
    page = signed_in("therapist", clinic["therapist"])
    page.set_viewport_size(DESK)
    page.goto("/availability")
    page.get_by_label("New time off from").fill(f"{WED.isoformat()}T00:00")
    page.get_by_label("New time off until").fill(f"{(WED + timedelta(days=1)).isoformat()}T00:00")
    page.get_by_role("button", name="Preview").click()
    page.get_by_role("heading", name=f"Preview (not saved yet) week of {MON:%a %b} {MON.day}").wait_for()
    warning = page.get_by_role("list", name="These upcoming sessions would fall outside")
    warning.get_by_role("link", name=f"Jordan Price, {WED_LABEL} 11:00 AM").click()
    page.get_by_role("heading", name=f"{WED_LABEL}, 11:00 AM–11:50 AM").wait_for()


def test_the_day_at_a_glance_and_its_printed_day(live_app, clinic, signed_in, shot):
    page = signed_in("coordinator")
    page.set_viewport_size(DESK)
    page.goto("/")
    needs = page.get_by_role("region", name="Needs action")
    assert needs.get_by_role("region", name="Not confirmed yet (1)").get_by_role("link", name="Jordan Price").is_visible()
    assert needs.get_by_role("region", name="Texts that failed since yesterday (1)").is_visible()
    needs.get_by_text("Asked to reschedule (1)").click()  # the disclosure opens on a click
    assert needs.get_by_role("link", name="Jordan Price").last.is_visible()
    assert_accessible(page, "day at a glance")
    shot(page, "glance-needs-action")
    page.goto(f"/?day={WED.isoformat()}")
    page.get_by_role("link", name="Print Dana Reyes's day").click()
    page.get_by_role("heading", name="Dana Reyes").wait_for()
    assert page.get_by_role("navigation", name="Main").count() == 0
    assert page.get_by_role("cell", name="Room 4B").is_visible()
    assert page.get_by_role("button", name="Print").is_visible()  # shown by its script
    assert_accessible(page, "printed day")
    shot(page, "printed-day")
    pdf = page.pdf(format="Letter")
    assert pdf.count(b"/Type /Page\n") + pdf.count(b"/Type /Page>") + pdf.count(b"/Type /Page ") == 1


PHONE_PAGES = ["/", "/calendar", "/availability", "/groups", "/patients", "/tasks", "/reports", "/admin"]


def test_every_main_page_fits_a_phone(live_app, clinic, signed_in, shot):
    page = signed_in("admin")
    page.set_viewport_size(PHONE)
    for path in [*PHONE_PAGES, f"/calendar?therapist={clinic['therapist']}&week={WED.isoformat()}",
                 f"/availability?therapist={clinic['therapist']}", f"/appointments/{clinic['now']}",
                 f"/patients/{clinic['jordan']}", f"/print/day?therapist={clinic['therapist']}"]:
        page.goto(path)
        _fits(page)
        assert_accessible(page, f"{path} at 390 px")
        if path.startswith("/availability?"):
            shot(page, "phone-availability")
    page.goto("/")
    assert page.get_by_role("link", name="Patients").count() == 0  # folded into the menu
    page.get_by_text("Menu", exact=True).click()
    shot(page, "phone-menu")
    page.get_by_role("link", name="Patients").click()
    page.wait_for_url("**/patients")


def test_booking_on_a_phone(live_app, clinic, signed_in, shot):
    page = signed_in("therapist", clinic["therapist"])
    page.set_viewport_size(PHONE)
    page.goto(f"/calendar?week={WED.isoformat()}")
    _fits(page)
    shot(page, "phone-week")
    page.get_by_role("button", name=f"Book {WED_LABEL}, 2:00 PM", exact=True).click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Patient").wait_for()
    page.wait_for_function("() => !document.querySelector('#dialog .htmx-added, #dialog-body.htmx-settling')")
    _fits(page)
    dialog.get_by_label("Patient").fill("jord")
    dialog.get_by_role("radio", name="Jordan Price").click()
    assert_accessible(page, "booking dialog at 390 px")
    dialog.get_by_role("button", name="Book", exact=True).click()
    page.get_by_role("status").get_by_text("Booked Jordan Price").wait_for()
