"""In the browser: Drop, Cancel meeting, Cancel appointment and Deactivate ask in the page's dialog
(at 1280 px and at 390 px, axe with the dialog open), and without JavaScript on a page of its own;
the group page's waitlist places and the new group's warning about a past first meeting."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from scheduler.extensions import db
from scheduler.models import Appointment, Enrollment, GroupSeries, Patient, Therapist, User
from tests.support import NOW, add_group, next_monday, ny
from tests.support.browser import assert_accessible
from tests.support.web import PASSWORD, add_user

pytestmark = pytest.mark.browser
DESKTOP, PHONE = {"width": 1280, "height": 900}, {"width": 390, "height": 844}


def _clinic(app) -> dict:
    """A therapist; Ana Uno holds the one seat of a group, Cy Tres waits; Alex Morgan has a session."""
    with app.app_context():
        t = Therapist(name="Lee Facilitator", email="lee@clinic.test", timezone="America/New_York", created_at=NOW)
        db.session.add(t)
        ids = {}
        for n, name in enumerate(("Ana Uno", "Cy Tres", "Alex Morgan")):
            p = Patient(name=name, phone=f"+1201555{7200 + n}", timezone="America/New_York", language="en",
                        sms_consent=True, consent_at=NOW, consent_source="test", created_at=NOW)
            db.session.add(p)
            db.session.flush()
            ids[name] = p.id
        start = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(days=3)
        gid = add_group(db.session, t.id, start, enrolled=(ids["Ana Uno"],), waitlisted=(ids["Cy Tres"],))
        db.session.get(GroupSeries, gid).capacity = 1
        at = ny(next_monday() + timedelta(days=2), 10)
        appt = Appointment(therapist_id=t.id, patient_id=ids["Alex Morgan"], start_dt=at,
                           end_dt=at + timedelta(minutes=50), status="scheduled", version=1, created_at=NOW,
                           updated_at=NOW)
        db.session.add(appt)
        db.session.commit()
        return {"group": gid, "appt": appt.id, **ids}


def _enrolled(app, gid) -> dict:
    with app.app_context():
        return dict(db.session.execute(select(Enrollment.patient_id, Enrollment.status)
                                       .where(Enrollment.group_id == gid)).all())


def test_drop_and_cancel_meeting_ask_in_the_dialog(live_app, signed_in, shot):
    clinic = _clinic(live_app)
    page = signed_in("coordinator")
    page.set_viewport_size(DESKTOP)
    page.goto(f"/groups/{clinic['group']}")
    page.wait_for_load_state()
    expect(page.get_by_text("No. 1 in line, waiting since")).to_be_visible()
    drop = page.get_by_role("button", name="Drop Ana Uno")
    drop.click()
    dialog = page.get_by_role("dialog", name="Drop Ana Uno?")
    expect(dialog).to_contain_text("Cy Tres moves up from the waitlist into the freed seat.")
    expect(dialog).to_contain_text("Cy Tres will get a text that a seat in Evening circle is theirs")
    expect(dialog.get_by_role("button", name="Keep Ana Uno")).to_be_focused()
    assert_accessible(page, "Drop, asked in the dialog")
    shot(page, "confirm-drop")
    dialog.get_by_role("button", name="Keep Ana Uno").click()
    expect(dialog).to_be_hidden()
    expect(drop).to_be_focused()  # back where the person was
    assert _enrolled(live_app, clinic["group"])[clinic["Ana Uno"]] == "enrolled"
    drop.click()
    dialog.get_by_role("button", name="Yes, drop Ana Uno").click()
    expect(page.get_by_role("status")).to_contain_text("Cy Tres moves up from the waitlist into the freed seat.")
    assert _enrolled(live_app, clinic["group"]) == {clinic["Ana Uno"]: "dropped", clinic["Cy Tres"]: "enrolled"}
    page.get_by_role("button", name=re.compile("^Cancel meeting")).first.click()
    dialog = page.get_by_role("dialog", name=re.compile("^Cancel the meeting on"))
    # Cy Tres's text about the seat has not left, and names the next meeting that is on instead.
    expect(dialog).to_contain_text("Nobody is texted: no one holding a seat had been told of this meeting yet.")
    assert_accessible(page, "Cancel meeting, asked in the dialog")
    dialog.get_by_role("button", name="Yes, cancel meeting").click()
    expect(page.get_by_role("status")).to_contain_text("is called off")
    expect(page.get_by_text("Cancelled", exact=True)).to_be_visible()


def test_on_a_phone_cancel_appointment_and_deactivate_ask_in_the_dialog(live_app, signed_in):
    clinic = _clinic(live_app)
    other = add_user(live_app, "coordinator", email="sam@clinic.test")
    page = signed_in("admin")
    page.set_viewport_size(PHONE)
    page.goto("/groups/new")
    page.wait_for_load_state()
    page.get_by_label("First meeting").fill(f"{(datetime.now(UTC) - timedelta(days=2)).date().isoformat()}T18:00")
    page.get_by_label("Time zone").select_option("America/New_York")  # a pick-list now
    expect(page.locator("#preview")).to_contain_text("The first meeting is in the past")
    page.goto(f"/appointments/{clinic['appt']}")
    page.wait_for_load_state()
    page.get_by_label("Reason").fill("Asked by phone")
    page.get_by_role("button", name="Cancel appointment").click()
    dialog = page.get_by_role("dialog", name="Cancel this appointment?")
    expect(dialog).to_contain_text("Alex Morgan is not texted: no text about this session had gone out yet.")
    assert dialog.bounding_box()["width"] <= PHONE["width"]
    assert_accessible(page, "Cancel appointment, asked in the dialog on a phone")
    dialog.get_by_role("button", name="Yes, cancel appointment").click()
    expect(page.get_by_role("status")).to_contain_text("The appointment is cancelled.")
    with live_app.app_context():
        row = db.session.get(Appointment, clinic["appt"])
        assert (row.status, row.cancel_reason) == ("cancelled", "Asked by phone")
    page.goto("/admin")
    page.wait_for_load_state()
    page.get_by_text(f"Change {other}").click()
    page.get_by_role("button", name=f"Deactivate {other}").click()
    dialog = page.get_by_role("dialog", name=f"Deactivate {other}?")
    expect(dialog).to_contain_text("signed out everywhere at once")
    assert_accessible(page, "Deactivate, asked in the dialog on a phone")
    page.keyboard.press("Escape")  # a dialog closes as dialogs do
    expect(dialog).to_be_hidden()
    with live_app.app_context():
        assert db.session.scalar(select(User.active).where(User.email == other)) is True


def test_without_javascript_the_question_is_a_page(browser, live_server, live_app):
    clinic = _clinic(live_app)
    email = add_user(live_app, "coordinator")
    context = browser.new_context(java_script_enabled=False, viewport=PHONE, base_url=live_server)
    page = context.new_page()
    page.set_default_timeout(5000)
    try:
        page.goto("/login")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.goto(f"/groups/{clinic['group']}")
        page.get_by_role("button", name="Drop Ana Uno").click()
        expect(page.get_by_role("heading", level=1, name="Drop Ana Uno?")).to_be_visible()
        assert _enrolled(live_app, clinic["group"])[clinic["Ana Uno"]] == "enrolled"
        page.get_by_role("button", name="Yes, drop Ana Uno").click()
        expect(page.get_by_role("status")).to_contain_text("Cy Tres moves up")
        assert _enrolled(live_app, clinic["group"])[clinic["Ana Uno"]] == "dropped"
    finally:
        context.close()
