"""Therapists' calendar feeds: what a calendar app gets, parsed back with icalendar, and when it gets 404."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from sqlalchemy import select

from scheduler.core import auth, clock
from scheduler.extensions import db
from scheduler.models import Appointment, AuditEvent, Enrollment, GroupSeries, Occurrence
from tests.support import NOW, NY, next_dst_changes

BASE = "https://clinic.example.org"


@pytest.fixture
def feed_app(make_app):
    return make_app(PUBLIC_BASE_URL=BASE, CALENDAR_FEEDS="on")


@pytest.fixture
def clinic(feed_app, make_therapist, make_patient):
    """A therapist with a user, a patient, two appointments (one cancelled) and a weekly group across DST."""
    with feed_app.app_context():
        pass
    tid = make_therapist(email="dana@clinic.test")
    pid = make_patient(name="Avery Collins")
    spring, _ = next_dst_changes()
    now = clock.now()
    with feed_app.app_context():
        user = auth.create_user(db.session, "dana@clinic.test", "therapist", NOW, therapist_id=tid)
        start = now + timedelta(days=2)
        for status in ("scheduled", "cancelled"):
            db.session.add(Appointment(therapist_id=tid, patient_id=pid, start_dt=start, status=status,
                                       end_dt=start + timedelta(minutes=50), created_at=now, updated_at=now))
            start += timedelta(hours=2)
        first = datetime.combine(spring - timedelta(days=7), datetime.min.time()).replace(hour=18)
        group = GroupSeries(title="Recovery circle", facilitator_id=tid, capacity=8, duration_minutes=60,
                            timezone=NY, local_start=first, location="Room 4 (detox wing)", created_at=now)
        db.session.add(group)
        db.session.flush()
        for week in range(3):  # 18:00 New York, before and after the clocks change
            local = (first + timedelta(weeks=week)).replace(tzinfo=ZoneInfo(NY))
            db.session.add(Occurrence(group_id=group.id, local_date=local.date(), start_dt=local.astimezone(UTC),
                                      end_dt=local.astimezone(UTC) + timedelta(hours=1), cancelled=False))
        db.session.add(Enrollment(group_id=group.id, patient_id=pid, status="enrolled", created_at=now,
                                  enrolled_at=now))
        db.session.commit()
        return {"therapist": tid, "user": user.id, "email": "dana@clinic.test"}


def _link(feed_app, email) -> str:
    result = feed_app.test_cli_runner().invoke(args=["users", "feed", "--email", email])
    assert result.exit_code == 0, result.output
    url = result.output.strip()
    assert url.startswith(f"{BASE}/feeds/") and url.endswith(".ics")
    return url[len(BASE):]


def test_the_feed_parses_back_with_neutral_summaries_and_zones(feed_app, clinic):
    path = _link(feed_app, clinic["email"])
    r = feed_app.test_client().get(path)
    assert r.status_code == 200 and r.mimetype == "text/calendar"
    text = r.get_data(as_text=True)
    for secret in ("Avery", "Collins", "Recovery", "Room 4", "detox", "+1201"):
        assert secret not in text
    calendar = Calendar.from_ical(r.data)
    events = calendar.walk("VEVENT")
    assert {str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")} == {NY}
    sessions = [e for e in events if str(e["SUMMARY"]) == "Session"]
    assert sorted(str(e["STATUS"]) for e in sessions) == ["CANCELLED", "CONFIRMED"]
    meetings = [e for e in events if str(e["SUMMARY"]).startswith("Meeting")]
    assert len(meetings) == 3 and str(meetings[0]["SUMMARY"]) == "Meeting (1 of 8 seats filled)"
    # Across the DST change every meeting stays at 18:00 local, in the group's zone.
    assert {(e.decoded("DTSTART").hour, str(e.decoded("DTSTART").tzinfo)) for e in meetings} == {(18, NY)}
    assert len({str(e["UID"]) for e in events}) == len(events)
    # The same request again gives the same UIDs (calendar apps update, never duplicate).
    again = Calendar.from_ical(feed_app.test_client().get(path).data)
    assert {str(e["UID"]) for e in again.walk("VEVENT")} == {str(e["UID"]) for e in events}


def test_initials_only_where_the_clinic_allows_them(make_app, clinic):
    app = make_app(PUBLIC_BASE_URL=BASE, CALENDAR_FEEDS="initials")
    path = _link(app, clinic["email"])
    summaries = {str(e["SUMMARY"]) for e in Calendar.from_ical(app.test_client().get(path).data).walk("VEVENT")}
    assert "Session A.C." in summaries


def test_a_new_link_or_a_revoke_ends_the_old_one(feed_app, clinic):
    client = feed_app.test_client()
    old = _link(feed_app, clinic["email"])
    new = _link(feed_app, clinic["email"])
    assert client.get(old).status_code == 404 and client.get(new).status_code == 200
    result = feed_app.test_cli_runner().invoke(args=["users", "feed", "--email", clinic["email"], "--revoke"])
    assert result.exit_code == 0 and "revoked" in result.output
    r = client.get(new)
    assert (r.status_code, r.get_data(as_text=True)) == (404, "not found\n")


def test_feeds_off_or_a_deactivated_therapist_is_a_plain_404(make_app, feed_app, clinic):
    path = _link(feed_app, clinic["email"])
    off = make_app(PUBLIC_BASE_URL=BASE)  # CALENDAR_FEEDS defaults to off
    assert off.test_client().get(path).status_code == 404
    assert feed_app.test_client().get("/feeds/not-a-token.ics").status_code == 404
    with feed_app.app_context():
        user = auth.find_user(db.session, clinic["email"])
        auth.deactivate(db.session, user, NOW)
        db.session.commit()
    assert feed_app.test_client().get(path).status_code == 404


def test_a_feed_read_is_audited_without_the_token(feed_app, clinic):
    path = _link(feed_app, clinic["email"])
    assert feed_app.test_client().get(path).status_code == 200
    token = path.split("/")[-1][:-4]
    with feed_app.app_context():
        rows = db.session.scalars(select(AuditEvent).where(AuditEvent.entity == "feed")).all()
        assert [(r.action, r.entity_id) for r in rows] == [("create", clinic["therapist"]), ("read", clinic["therapist"])]
        assert all(token not in (r.route or "") for r in rows)


def test_making_a_link_needs_feeds_on_and_a_public_url(make_app, clinic):
    off = make_app(PUBLIC_BASE_URL=BASE)
    result = off.test_cli_runner().invoke(args=["users", "feed", "--email", clinic["email"]])
    assert result.exit_code != 0 and "switched off" in result.output
    no_url = make_app(CALENDAR_FEEDS="on")
    result = no_url.test_cli_runner().invoke(args=["users", "feed", "--email", clinic["email"]])
    assert result.exit_code != 0 and "PUBLIC_BASE_URL" in result.output
