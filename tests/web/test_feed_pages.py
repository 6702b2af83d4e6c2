"""Calendar feeds on the pages: a therapist's Create / Revoke feed link on /calendar, the admin's switch."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from scheduler.extensions import db
from scheduler.models import AuditEvent
from tests.support.web import Pages, add_user

BASE = "https://clinic.example"


@pytest.fixture
def app(make_app):
    """Feeds switched on, behind a public URL."""
    return make_app(PUBLIC_BASE_URL=BASE, CALENDAR_FEEDS="on")


def _feed_path(html: str) -> str:
    found = re.search(re.escape(BASE) + r"(/feeds/[A-Za-z0-9_-]+\.ics)", html)
    assert found, "no feed URL on the page"
    return found.group(1)


def _actions(app, entity: str) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent.action).where(AuditEvent.entity == entity)
                                       .order_by(AuditEvent.id)))


def test_create_and_revoke_a_feed_link_through_the_calendar(app, staff):
    html = staff.therapist.text("/calendar")
    assert "Calendar feed" in html and "Create feed link" in html and "Revoke feed link" not in html
    response = staff.therapist.post("/calendar/feed")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Google Calendar" in page and "Outlook" in page and "ends this one" in page
    first = _feed_path(page)
    feed = app.test_client()
    assert feed.get(first).status_code == 200
    # Shown once: the next visit shows no URL, only that a link exists.
    again = staff.therapist.text("/calendar")
    assert BASE + "/feeds/" not in again and "Revoke feed link" in again
    # A new link ends the old one.
    second = _feed_path(staff.therapist.post("/calendar/feed").get_data(as_text=True))
    assert feed.get(first).status_code == 404 and feed.get(second).status_code == 200
    response = staff.therapist.post("/calendar/feed/revoke")
    assert response.status_code == 302
    assert feed.get(second).status_code == 404
    assert "Revoke feed link" not in staff.therapist.text("/calendar")
    assert [a for a in _actions(app, "feed") if a != "read"] == ["create", "create", "revoke"]


def test_staff_see_no_feed_section_and_cannot_post(app, staff):
    html = staff.coordinator.text(f"/calendar?therapist={staff.therapist_id}")
    assert "Create feed link" not in html
    assert staff.coordinator.post("/calendar/feed").status_code == 403
    assert staff.admin.post("/calendar/feed/revoke").status_code == 403


def test_without_a_public_url_the_page_says_why(make_app, make_therapist):
    app = make_app(CALENDAR_FEEDS="on")
    tid = make_therapist(name="Ana Cruz")
    client = Pages(app.test_client())
    assert client.sign_in(add_user(app, "therapist", tid)).status_code == 302
    response = client.post("/calendar/feed")
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "needs PUBLIC_BASE_URL" in html and "/feeds/" not in html


def test_the_admin_switches_feeds(app, staff):
    html = staff.admin.text("/admin")
    assert "Calendar feeds" in html and "Now: <strong>On</strong>" in html
    feed = app.test_client()
    path = urlsplit(_feed_path(staff.therapist.post("/calendar/feed").get_data(as_text=True))).path
    response = staff.admin.post("/admin/calendar-feeds", data={"calendar_feeds": "off"})
    assert response.status_code == 302 and response.location.endswith("/admin#feeds")
    assert "Now: <strong>Off</strong>" in staff.admin.text("/admin")
    assert feed.get(path).status_code == 404
    assert "Calendar feed" not in staff.therapist.text("/calendar")
    assert staff.admin.post("/admin/calendar-feeds", data={"calendar_feeds": "initials"}).status_code == 302
    assert "On, with patients&#39; initials" in staff.admin.text("/admin")
    assert feed.get(path).status_code == 200
    refused = staff.admin.post("/admin/calendar-feeds", data={"calendar_feeds": "sometimes"})
    assert refused.status_code == 422 and "must be one of" in refused.get_data(as_text=True)
    assert _actions(app, "clinic_option") == ["update", "update"]
    assert staff.therapist.post("/admin/calendar-feeds", data={"calendar_feeds": "off"}).status_code == 403
