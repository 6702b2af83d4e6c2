"""In the browser: a weekly group across DST, the waitlist, attendance, a patient form with a
mistake, a template refused by the counter; axe-core on each page; screenshots."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from scheduler.extensions import db
from scheduler.models import Occurrence, Patient, Therapist
from tests.support import NOW, add_group, at, next_dst_changes, next_monday
from tests.support.browser import assert_accessible

pytestmark = pytest.mark.browser


def therapist(app, name="Lee Facilitator") -> int:
    with app.app_context():
        t = Therapist(name=name, email=f"{name.split()[0].lower()}@clinic.test", timezone="America/New_York",
                      created_at=NOW)
        db.session.add(t)
        db.session.commit()
        return t.id


def patient(app, name: str, phone: str) -> int:
    with app.app_context():
        p = Patient(name=name, phone=phone, timezone="America/New_York", language="en", sms_consent=True,
                    consent_at=NOW, consent_source="test", created_at=NOW)
        db.session.add(p)
        db.session.commit()
        return p.id


def test_weekly_group_across_dst_then_waitlist(signed_in, live_app, shot):
    therapist(live_app)
    for n, name in enumerate(("Ana Uno", "Bo Dos", "Cy Tres")):
        patient(live_app, name, f"+1201555{7000 + n}")
    page = signed_in("coordinator")
    change = min(next_dst_changes())
    first = change - timedelta(days=5)
    if first <= next_monday(1) - timedelta(days=6):
        pytest.skip("the next DST change is this week")
    page.goto("/groups/new")
    page.get_by_label("Title").fill("Evening circle")
    page.get_by_label("Facilitator").select_option(label="Lee Facilitator")
    page.get_by_label("Capacity").fill("2")
    page.get_by_label("First meeting").fill(at(first, 18))
    page.get_by_label("Time zone").select_option("America/New_York")
    page.get_by_label("Meetings").fill("3")
    page.get_by_label("Location").fill("Room 2")
    preview = page.locator("#preview li")
    expect(preview).to_have_count(3)  # htmx filled the preview as the fields changed
    expect(preview.filter(has_text="6:00 PM")).to_have_count(3)
    assert_accessible(page, "new group with its preview")
    shot(page, "group-new")
    page.get_by_role("button", name="Create group").click()
    page.wait_for_url(re.compile(r"/groups/\d+$"))
    expect(page.get_by_role("cell", name=re.compile(r"^\w{3} \w{3} \d+, 6:00 PM$"))).to_have_count(3)

    for name in ("Ana Uno", "Bo Dos", "Cy Tres"):
        page.get_by_label("Patient", exact=True).fill(name)
        page.get_by_role("radio", name=re.compile(name)).check()
        page.get_by_role("button", name="Enroll").click()
        page.wait_for_load_state()
    expect(page.get_by_role("status")).to_contain_text(
        "Evening circle is full: Cy Tres is on the waitlist, No. 1 in line.")
    waitlist = page.locator("h3:has-text('Waitlist') + ol")
    expect(waitlist).to_contain_text("Cy Tres")
    expect(page.locator("h3:has-text('Enrolled') + ol")).to_contain_text("Bo Dos")
    assert_accessible(page, "group page")
    shot(page, "group")
    page.get_by_role("button", name="Drop Ana Uno").click()
    page.get_by_role("dialog").get_by_role("button", name="Yes, drop Ana Uno").click()
    expect(page.locator("h3:has-text('Enrolled') + ol")).to_contain_text("Cy Tres")
    expect(page.get_by_text("Nobody is waiting.")).to_be_visible()


def test_take_attendance(signed_in, live_app, shot):
    tid = therapist(live_app)
    ana, bo = patient(live_app, "Ana Uno", "+12015557100"), patient(live_app, "Bo Dos", "+12015557101")
    with live_app.app_context():
        start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=30)
        gid = add_group(db.session, tid, start, enrolled=(ana, bo))
        occ = db.session.scalar(select(Occurrence.id).where(Occurrence.group_id == gid))
    page = signed_in("therapist", therapist_id=tid)
    page.goto(f"/groups/{gid}")
    page.get_by_role("link", name=re.compile("^Attendance for")).first.click()
    page.get_by_role("radiogroup", name="Ana Uno").get_by_label("Attended").check()
    page.get_by_role("radiogroup", name="Bo Dos").get_by_label("No-show").check()
    assert_accessible(page, "attendance")
    page.get_by_role("button", name="Save attendance").click()
    expect(page.get_by_text("Attendance saved.")).to_be_visible()
    expect(page.get_by_role("radiogroup", name="Bo Dos").get_by_label("No-show")).to_be_checked()
    shot(page, "attendance")
    assert occ


def test_patient_form_with_a_mistake(signed_in, live_app, shot):
    therapist(live_app, "Dana Reyes")
    page = signed_in("coordinator")
    page.goto("/patients/new")
    page.get_by_label("Name").fill("Rosa Diaz")
    page.get_by_label("Phone").fill("12")
    page.get_by_label("Time zone").select_option("America/New_York")
    page.get_by_label("Consent to texts").check()
    page.get_by_role("group", name="Care team").get_by_label("Dana Reyes").check()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_label("Phone")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#e-phone")).to_contain_text("Phone")
    expect(page.get_by_label("Name")).to_have_value("Rosa Diaz")
    expect(page.get_by_role("group", name="Care team").get_by_label("Dana Reyes")).to_be_checked()
    assert_accessible(page, "patient form with a mistake")
    shot(page, "patient-form-error")
    page.get_by_label("Phone").fill("(201) 555-0199")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="Rosa Diaz")).to_be_visible()
    expect(page.get_by_role("heading", name="Messages")).to_be_visible()
    assert_accessible(page, "patient page")
    shot(page, "patient")
    page.goto("/patients")
    page.get_by_label("Search").fill("555-0199")
    expect(page.locator("#results")).to_contain_text("Rosa Diaz")
    assert_accessible(page, "patients after a search")
    page.goto("/tasks")
    assert_accessible(page, "tasks")


def test_template_counter_refuses_a_text_too_long(signed_in, shot):
    page = signed_in("admin")
    page.goto("/admin")
    assert_accessible(page, "admin")
    shot(page, "admin")
    page.get_by_role("link", name="Reminder (English)").click()
    page.wait_for_url("**/admin/templates/reminder/en")
    page.wait_for_load_state()  # htmx listens once the page has loaded
    box = page.get_by_label("Wording")
    box.fill("{clinic}: " + "a very long reminder " * 8 + "{when}")
    expect(page.locator("#counter")).to_contain_text("This text would be refused")
    expect(page.locator("#counter")).to_contain_text("one text holds 160")
    expect(page.locator("#counter")).to_contain_text("2 segments")
    assert_accessible(page, "template with a refused text")
    shot(page, "template-refused")
    page.get_by_role("button", name="Save template").click()
    expect(page.get_by_text("Not saved: the text breaks the rules below.")).to_be_visible()
    page.wait_for_load_state()
    box = page.get_by_label("Wording")
    box.fill("{clinic}: See you {when}. Reply C to confirm. Call {phone}")
    expect(page.locator("#counter")).to_contain_text("This text can be sent.")
    page.get_by_role("button", name="Save template").click()
    expect(page.get_by_text("A custom wording is in use")).to_be_visible()
