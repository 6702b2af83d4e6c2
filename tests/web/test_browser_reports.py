"""In the browser: /reports for a date range, the chart's text alternative, the tables, a CSV download; axe-core."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from scheduler.extensions import db
from scheduler.models import Appointment, CareTeamMember, Discharge, Patient, Therapist
from tests.support import NOW
from tests.support.browser import assert_accessible

pytestmark = pytest.mark.browser


def test_a_coordinator_reads_the_follow_up_report_and_downloads_its_csv(signed_in, live_app):
    with live_app.app_context():
        t = Therapist(name="Tess Care", email="tess@clinic.test", timezone="America/New_York", created_at=NOW)
        seen, unseen = (Patient(name=name, phone=phone, timezone="America/New_York", language="en",
                                sms_consent=True, consent_at=NOW, consent_source="test", created_at=NOW)
                        for name, phone in (("Alex Seen", "+12015550181"), ("Robin Unseen", "+12015550182")))
        db.session.add_all([t, seen, unseen])
        db.session.flush()
        for p, day in ((seen, date(2026, 2, 2)), (unseen, date(2026, 2, 10))):
            db.session.add(CareTeamMember(patient_id=p.id, therapist_id=t.id, added_at=NOW))
            db.session.add(Discharge(patient_id=p.id, discharge_date=day))
        start = datetime(2026, 2, 5, 15, tzinfo=UTC)  # day 3 in New York
        db.session.add(Appointment(therapist_id=t.id, patient_id=seen.id, start_dt=start,
                                   end_dt=start + timedelta(minutes=50), status="attended", version=1,
                                   created_at=NOW, updated_at=NOW))
        db.session.commit()
    page = signed_in("coordinator")
    page.goto("/reports")
    page.get_by_label("From").fill("2026-02-01")
    page.get_by_label("To").fill("2026-02-28")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_text("2 discharges from 2026-02-01 to 2026-02-28")).to_be_visible()
    chart = page.get_by_role("img", name="Follow-up rates by month")
    expect(chart).to_be_visible()
    # The text alternative (title and description) says what the bars show.
    expect(chart).to_have_accessible_name(
        "Follow-up rates by month 2026-02: 50% within 7 days, 50% within 30 days.")
    month = page.get_by_role("row").filter(has=page.get_by_role("rowheader", name="2026-02")).first
    expect(month.get_by_role("cell")).to_have_text(["2", "1", "50%", "1", "50%"])
    expect(page.get_by_role("link", name="Robin Unseen")).to_be_visible()
    assert_accessible(page, "/reports with a range")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV of follow-up by month").click()
    lines = Path(download.value.path()).read_text(encoding="utf-8").splitlines()
    assert lines == ["month,discharges,followed_up_7d,followed_up_30d,rate_7d,rate_30d",
                     "2026-02,2,1,1,0.5,0.5"]
