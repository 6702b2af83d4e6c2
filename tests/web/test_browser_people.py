"""In the browser at desk and phone widths (issue 17, items 2, 5, 7, 11): a possible duplicate
warned before saving, a patient's Book and Enroll in group, an admin adding a clinician; axe on each."""
from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

import pytest
from playwright.sync_api import expect

from scheduler.extensions import db
from scheduler.models import AvailabilityRule, Patient, Therapist
from scheduler.scheduling import care_teams
from tests.support import NOW, add_group
from tests.support.browser import assert_accessible

pytestmark = pytest.mark.browser
WIDTHS = [pytest.param(1280, id="desk"), pytest.param(390, id="phone")]


def person(app, name: str, phone: str, born: date | None = None, team: int | None = None) -> int:
    with app.app_context():
        p = Patient(name=name, phone=phone, timezone="America/New_York", language="en", sms_consent=True,
                    consent_at=NOW, consent_source="test", created_at=NOW, date_of_birth=born)
        db.session.add(p)
        db.session.flush()
        if team:
            care_teams.set_team(db.session, p, [team], NOW, None)
        db.session.commit()
        return p.id


def therapist(app) -> int:
    with app.app_context():
        t = Therapist(name="Dana Reyes", email="dana@clinic.test", timezone="America/New_York", created_at=NOW)
        for day in range(7):
            t.rules.append(AvailabilityRule(weekday=day, start_time=time(9), end_time=time(17)))
        db.session.add(t)
        db.session.commit()
        return t.id


@pytest.mark.parametrize("width", WIDTHS)
def test_a_possible_duplicate_is_shown_before_saving(signed_in, live_app, width, shot):
    first = person(live_app, "Rosa Diaz", "+12015550123", date(1980, 4, 2))
    page = signed_in("coordinator")
    page.set_viewport_size({"width": width, "height": 900})
    page.goto("/patients/new")
    page.get_by_label("Name").fill("Rosa Diaz")
    page.get_by_label("Phone").fill("(201) 555-0199")
    page.get_by_label("Date of birth").fill("1980-04-02")
    expect(page.get_by_label("Time zone")).to_have_value("America/New_York")  # the clinic's, a pick-list
    page.get_by_label("Time zone").select_option("America/Chicago")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("heading", name="Possibly the same person")).to_be_visible()
    expect(page.get_by_role("link", name="Rosa Diaz")).to_have_attribute("href", f"/patients/{first}")
    expect(page.get_by_text("born Apr 2, 1980")).to_be_visible()
    expect(page.get_by_label("Time zone")).to_have_value("America/Chicago")  # what was picked is kept
    assert_accessible(page, "possible duplicate")
    if width == 1280:  # one picture per step in docs; the phone width is checked, not pictured
        shot(page, "patient-duplicate")
    page.get_by_role("button", name="Save anyway").click()
    expect(page.get_by_role("heading", name="Rosa Diaz")).to_be_visible()
    expect(page.get_by_text("(201) 555-0199")).to_be_visible()


@pytest.mark.parametrize("width", WIDTHS)
def test_book_and_enroll_from_a_patients_page(signed_in, live_app, width, shot):
    tid = therapist(live_app)
    ana = person(live_app, "Ana Steps", "+12015550160", date(1991, 1, 9), team=tid)
    with live_app.app_context():
        add_group(db.session, tid, datetime.now(UTC) + timedelta(days=4))
    page = signed_in("coordinator")
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(f"/patients/{ana}")
    expect(page.get_by_text("Jan 9, 1991")).to_be_visible()
    assert_accessible(page, "patient page")
    if width == 1280:  # one picture per step in docs; the phone width is checked, not pictured
        shot(page, "patient-steps")
    page.get_by_role("button", name="Book", exact=True).click()  # a link drawn as a button
    expect(page.get_by_text("Booking for Ana Steps")).to_be_visible()
    page.goto(page.url + f"&week={(date.today() + timedelta(days=7)).isoformat()}")
    page.get_by_role("button", name=re.compile(r"^Book .*, 11:00 AM$")).locator("visible=true").first.click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("radio", name=re.compile("Ana Steps"))).to_be_checked()  # preselected
    assert_accessible(page, "booking dialog for the patient")
    dialog.get_by_role("button", name="Book", exact=True).click()
    page.get_by_role("status").get_by_text("Booked Ana Steps").wait_for()
    page.goto(f"/patients/{ana}")
    page.get_by_role("button", name="Enroll in group").click()
    expect(page.get_by_text("10 seats free")).to_be_visible()
    assert_accessible(page, "groups for the patient")
    page.get_by_role("link", name="Evening circle").click()
    expect(page.get_by_role("radio", name=re.compile("Ana Steps"))).to_be_checked()
    page.get_by_role("button", name="Enroll", exact=True).click()
    expect(page.locator("h3:has-text('Enrolled') + ol")).to_contain_text("Ana Steps")
    if width == 1280:  # one picture per step in docs; the phone width is checked, not pictured
        shot(page, "patient-enrolled")


@pytest.mark.parametrize("width", WIDTHS)
def test_an_admin_adds_a_clinician(signed_in, width, shot):
    page = signed_in("admin")
    page.set_viewport_size({"width": width, "height": 900})
    page.goto("/admin")
    page.get_by_label("Name", exact=True).fill("Jo Rivera")
    page.get_by_label("Email", exact=True).fill("jo@clinic")
    page.get_by_label("Role", exact=True).select_option("therapist")
    page.get_by_label("Time zone").select_option("America/Chicago")
    page.get_by_label("Password", exact=True).fill("long enough pass")
    page.get_by_role("button", name="Create user").click()
    expect(page.get_by_label("Email", exact=True)).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#e-email")).to_contain_text("must be an email address")
    assert "IANA" not in page.content()
    assert_accessible(page, "admin with a bad email")
    page.get_by_label("Email", exact=True).fill("jo.rivera@clinic.org")
    page.get_by_label("Password", exact=True).fill("long enough pass")
    page.get_by_role("button", name="Create user").click()
    expect(page.get_by_role("rowheader", name="Jo Rivera")).to_be_visible()
    if width == 1280:  # one picture per step in docs; the phone width is checked, not pictured
        shot(page, "admin-clinician")
    page.goto("/calendar")
    expect(page.get_by_label("Therapist").get_by_role("option", name="Jo Rivera")).to_have_count(1)
