"""In the browser: record a discharge, then book the first session in one press; axe-core on the page."""
from __future__ import annotations

import re
from datetime import time

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from scheduler.extensions import db
from scheduler.models import Appointment, AvailabilityRule, Patient, Therapist
from tests.support import NOW
from tests.support.browser import assert_accessible

pytestmark = pytest.mark.browser


def test_record_a_discharge_and_book_the_first_session(signed_in, live_app, shot):
    with live_app.app_context():
        t = Therapist(name="Tess Care", email="tess@clinic.test", timezone="America/New_York", created_at=NOW)
        t.rules.extend(AvailabilityRule(weekday=d, start_time=time(9), end_time=time(17)) for d in range(7))
        p = Patient(name="Ana Browser", phone="+12015550177", timezone="America/New_York", language="en",
                    sms_consent=True, consent_at=NOW, consent_source="test", created_at=NOW)
        db.session.add_all([t, p])
        db.session.commit()
        pid = p.id
    page = signed_in("coordinator")
    page.goto(f"/patients/{pid}")
    expect(page.get_by_role("heading", name="Aftercare", level=2)).to_be_visible()
    page.get_by_role("button", name="Record discharge").click()
    page.get_by_label("Plan length (days)").fill("30")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Discharge recorded.")).to_be_visible()
    first = page.get_by_role("button", name=re.compile(r"^Book first session with Tess Care, ")).first
    label = first.inner_text()
    assert_accessible(page, "patient page with first-session offers")
    shot(page, "patient-aftercare")
    first.click()
    expect(page.get_by_text(re.compile(r"^First session booked: "))).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("^Book first session"))).to_have_count(0)
    with live_app.app_context():
        appt = db.session.scalar(select(Appointment))
        assert appt.patient_id == pid and appt.therapist.name == "Tess Care"
    assert "Tess Care" in label
