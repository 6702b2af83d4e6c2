"""/reports: the follow-up and engagement numbers the domain computes, their CSVs, who sees what."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from scheduler.extensions import db
from scheduler.models import Appointment, AuditEvent, CareTeamMember, Discharge
from scheduler.web.reports import default_range
from tests.support import NOW

RANGE = "from=2026-02-01&to=2026-02-28"


@pytest.fixture
def case(app, staff, make_patient):
    """Two discharges in February 2026: Dana's patient seen on day 3, Marcus's patient never seen."""
    seen, unseen = make_patient(name="Alex Seen"), make_patient(name="Robin Unseen")
    with app.app_context():
        for pid, tid, day in ((seen, staff.therapist_id, date(2026, 2, 2)),
                              (unseen, staff.other_therapist_id, date(2026, 2, 10))):
            db.session.add(CareTeamMember(patient_id=pid, therapist_id=tid, added_at=NOW))
            db.session.add(Discharge(patient_id=pid, discharge_date=day))
        start = datetime(2026, 2, 5, 15, tzinfo=UTC)  # day 3, 10:00 in New York
        db.session.add(Appointment(therapist_id=staff.therapist_id, patient_id=seen, start_dt=start,
                                   end_dt=start + timedelta(minutes=50), status="attended", version=1,
                                   created_at=NOW, updated_at=NOW))
        db.session.commit()
    return {"seen": seen, "unseen": unseen}


def _audits(app, action: str) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == action, AuditEvent.entity == "report"))


def _cells(html: str) -> str:
    """The page's text with tags and runs of white space squeezed, to look for a row's cells."""
    import re
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_page_shows_what_the_domain_computes(app, staff, case):
    before = _audits(app, "read")
    html = staff.coordinator.text(f"/reports?{RANGE}")
    text = _cells(html)
    assert "2 discharges from 2026-02-01 to 2026-02-28: 50% seen within 7 days, 50% within 30 days" in text
    assert "2026-02 2 1 50% 1 50%" in text  # the month's table row
    assert "Dana Reyes 1 1 100% 1 100%" in text and "Marcus Lee 1 0 0% 0 0%" in text
    assert "A discharge with two therapists counts under both" in text
    # The chart is an image with a text alternative; its bars are labelled with the numbers.
    assert 'role="img"' in html and "<title id=\"chart-title\">Follow-up rates by month</title>" in html
    assert "2026-02: 50% within 7 days, 50% within 30 days." in html
    # The one missed discharge, with why, linked to the patient.
    assert f'href="/patients/{case["unseen"]}">Robin Unseen</a>' in html
    assert "Nothing booked" in text and f'/patients/{case["seen"]}"' not in html
    # Engagement: one attended appointment in February.
    assert "2026-02 1 1 100% 0 0% 0 0%" in text
    assert "Individual appointments 1 1 100%" in text
    assert html.count("Download CSV") == 6
    assert _audits(app, "read") == before + 1


def test_each_csv_downloads_with_its_header_and_is_audited(app, staff, case):
    expected = {
        "follow-up.csv?by=month": "month,discharges,followed_up_7d,followed_up_30d,rate_7d,rate_30d",
        "follow-up.csv?by=therapist": "therapist_id,discharges,followed_up_7d,followed_up_30d,rate_7d,rate_30d",
        "follow-up.csv?by=discharge": "discharge_id,patient_id,date,followed_up_7d,followed_up_30d,"
                                      "first_attended,reason",
        "engagement.csv?by=month": "month,sessions,attended,no_show,late_cancelled,attendance_rate,"
                                   "no_show_rate,confirmed_by_reply_rate,delivered_rate",
        "engagement.csv?by=therapist": "therapist_id,sessions,",
        "engagement.csv?by=group": "group_id,sessions,",
    }
    for path, header in expected.items():
        before = _audits(app, "export")
        response = staff.admin.get(f"/reports/{path}&{RANGE}")
        assert response.status_code == 200, path
        assert response.mimetype == "text/csv" and "attachment" in response.headers["Content-Disposition"]
        body = response.get_data(as_text=True)
        assert body.splitlines()[0].startswith(header), path
        assert _audits(app, "export") == before + 1, path
    body = staff.admin.get(f"/reports/follow-up.csv?by=month&{RANGE}").get_data(as_text=True)
    assert body.splitlines()[1].startswith("2026-02,2,1,1,0.5,0.5")
    assert "nothing_booked" in staff.admin.get(f"/reports/follow-up.csv?by=discharge&{RANGE}").get_data(as_text=True)
    assert staff.admin.get(f"/reports/follow-up.csv?by=group&{RANGE}").status_code == 404


def test_a_therapist_sees_only_their_own_patients(app, staff, case):
    html = staff.therapist.text(f"/reports?{RANGE}")
    text = _cells(html)
    assert "1 discharge from 2026-02-01" in text and "100% seen within 7 days" in text
    assert "Robin Unseen" not in html and f"/patients/{case['unseen']}" not in html
    rows = staff.therapist.get(f"/reports/follow-up.csv?by=discharge&{RANGE}").get_data(as_text=True).splitlines()
    assert len(rows) == 2 and f",{case['seen']}," in rows[1]


@pytest.mark.parametrize("query, field", [
    ("from=2026-02-30&to=2026-03-01", "From"), ("from=2026-03-01&to=yesterday", "To"),
    ("from=2026-03-01&to=2026-02-01", "To"), ("from=0001-01-01&to=2026-02-01", "From"),
    ("from=a%00b&to=2026-02-01", "From"),
])
def test_bad_dates_answer_422_with_a_message_beside_the_field(staff, query, field):
    response = staff.coordinator.get(f"/reports?{query}")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'class="field-error"' in html and f">{field} " in html and "Download CSV" not in html
    assert staff.coordinator.get(f"/reports/engagement.csv?by=month&{query}").status_code == 422


def test_the_default_range_is_the_last_six_months_and_reports_are_in_the_nav(staff):
    assert default_range(date(2026, 3, 15)) == (date(2025, 10, 1), date(2026, 3, 15))
    assert default_range(date(2026, 6, 30)) == (date(2026, 1, 1), date(2026, 6, 30))
    for client in (staff.admin, staff.coordinator, staff.therapist):
        html = client.text("/reports")
        assert 'href="/reports"' in html and 'name="from"' in html and "Follow-up" in html
