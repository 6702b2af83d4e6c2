"""A patient's page (issue 17, item 5): what a therapist's view says it shows, the Messages log
in time order without withdrawn noise, and the next steps Book and Enroll in group."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from scheduler.extensions import db
from scheduler.models import Appointment, Message, Patient
from scheduler.scheduling import care_teams
from tests.support import NOW, add_group


def soon(days: int) -> datetime:
    return datetime.now(UTC).replace(microsecond=0) + timedelta(days=days)


@pytest.fixture
def shared(app, staff, make_patient):
    """A patient on both therapists' care team, whose one upcoming session is with the colleague."""
    pid = make_patient(name="Ana Shared", phone="+12015550150")
    with app.app_context():
        care_teams.set_team(db.session, db.session.get(Patient, pid), [staff.therapist_id, staff.other_therapist_id],
                            NOW, None)
        start = soon(3)
        db.session.add(Appointment(therapist_id=staff.other_therapist_id, patient_id=pid, start_dt=start,
                                   end_dt=start + timedelta(minutes=50), status="scheduled", version=1,
                                   created_at=NOW, updated_at=NOW))
        db.session.commit()
    return pid


def test_a_therapist_reads_no_upcoming_sessions_with_you_and_not_the_colleagues(staff, shared):
    html = staff.therapist.get(f"/patients/{shared}").get_data(as_text=True)
    assert "Upcoming sessions with you" in html and "No upcoming sessions with you." in html
    assert "Appointment with Marcus Lee" not in html  # the colleague's schedule is not shown
    staff_view = staff.coordinator.get(f"/patients/{shared}").get_data(as_text=True)
    assert "Appointment with Marcus Lee" in staff_view and "with you" not in staff_view


def test_messages_are_in_time_order_without_withdrawn_noise(app, staff, shared):
    rows = [  # (body, status, skip_reason, sent_at / due_at offset in days), written out of time order
        ("Reminder that went", "sent", None, -1), ("Withdrawn one", "withdrawn", None, 2),
        ("Skipped, its session cancelled", "skipped", "cancelled", 1), ("Skipped, no consent", "skipped",
                                                                          "no_consent", -3),
        ("Queued reminder", "pending", None, 2), ("Booking text", "delivered", None, -2)]
    with app.app_context():
        for body, status, why, days in rows:
            moment = soon(days)
            db.session.add(Message(patient_id=shared, direction="out", kind="reminder", status=status, body=body,
                                   skip_reason=why, due_at=moment, sent_at=moment if status in ("sent", "delivered")
                                   else None, created_at=NOW, history=[]))
        db.session.add(Message(patient_id=shared, direction="in", kind="confirm", status="received", body="C",
                               created_at=soon(0), history=[]))
        db.session.commit()
    html = staff.coordinator.get(f"/patients/{shared}").get_data(as_text=True)
    log = html[html.index(">Messages</h2>"):]
    shown = ["Queued reminder", "C</td>", "Reminder that went", "Booking text", "Skipped, no consent"]
    assert [log.index(b) for b in shown] == sorted(log.index(b) for b in shown)  # newest first
    assert "Withdrawn one" not in log and "its session cancelled" not in log


def test_book_opens_the_care_team_calendar_with_the_patient_preselected(staff, shared):
    page = staff.coordinator.get(f"/patients/{shared}").get_data(as_text=True)
    book = re.search(r'<a role="button" href="([^"]+)">Book</a>', page).group(1).replace("&amp;", "&")
    assert book == f"/calendar?therapist={staff.therapist_id}&patient={shared}"
    calendar = staff.coordinator.get(f"{book}&week={soon(7).date().isoformat()}").get_data(as_text=True)
    assert "Booking for <strong>Ana Shared</strong>" in calendar
    assert f'name="patient_id" value="{shared}"' in calendar and f"&amp;patient_id={shared}" in calendar
    slot = re.search(r'name="start" value="([^"]+)"', calendar).group(1)
    form = staff.coordinator.get(f"/appointments/new?therapist={staff.therapist_id}&start={slot}"
                                 f"&patient_id={shared}").get_data(as_text=True)
    assert re.search(rf'value="{shared}" required checked', form) and 'value="Ana Shared"' in form
    own = staff.therapist.get(f"/patients/{shared}").get_data(as_text=True)
    assert f'href="/calendar?patient={shared}">Book</a>' in own  # a therapist books on their own calendar


def test_a_patient_outside_a_therapists_care_cannot_be_preselected(staff, make_patient):
    stranger = make_patient(name="Not Mine")
    assert staff.therapist.get(f"/calendar?patient={stranger}").status_code == 404
    assert staff.therapist.get("/calendar?patient=abc").status_code == 404


def test_enroll_in_group_lists_groups_with_seats_and_preselects_the_patient(app, staff, shared):
    with app.app_context():
        gid = add_group(db.session, staff.therapist_id, soon(5))
    page = staff.coordinator.get(f"/patients/{shared}").get_data(as_text=True)
    assert f'href="/groups?patient={shared}">Enroll in group</a>' in page
    listing = staff.coordinator.get(f"/groups?patient={shared}").get_data(as_text=True)
    assert "Enrolling <strong>Ana Shared</strong>" in listing and "10 seats free" in listing
    assert f'href="/groups/{gid}?patient={shared}#roster"' in listing
    group = staff.coordinator.get(f"/groups/{gid}?patient={shared}").get_data(as_text=True)
    assert re.search(rf'value="{shared}" data-label="Ana Shared"\s+checked', group)
    therapist_view = staff.therapist.get(f"/patients/{shared}").get_data(as_text=True)
    assert "Enroll in group" not in therapist_view  # enrolling is for coordinators and admins
