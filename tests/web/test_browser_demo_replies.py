"""In the browser, with DEMO_REPLIES on: reply C, then STOP, as a patient from their page; axe-core on it."""
from __future__ import annotations

import shutil
from datetime import UTC, datetime, time

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from scheduler import create_app
from scheduler.core.settings import current
from scheduler.extensions import db
from scheduler.models import Appointment, AvailabilityRule, Message, Patient, Therapist
from scheduler.scheduling import appointments
from tests.support import BASE_CONFIG, NOW, NY, next_monday, ny
from tests.support.browser import assert_accessible

pytestmark = pytest.mark.browser


@pytest.fixture
def live_app(sqlite_template, tmp_path):
    """The live server's app, with DEMO_REPLIES on."""
    path = tmp_path / "live.sqlite3"
    shutil.copy(sqlite_template, path)
    app = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}", "DEMO_REPLIES": True})
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_send_c_then_stop_as_the_patient(signed_in, live_app, shot):
    with live_app.app_context():
        t = Therapist(name="Tess Care", email="tess@clinic.test", timezone=NY, created_at=NOW)
        t.rules.extend(AvailabilityRule(weekday=d, start_time=time(9), end_time=time(17)) for d in range(7))
        p = Patient(name="Ana Browser", phone="+12015550177", timezone=NY, language="en",
                    sms_consent=True, consent_at=NOW, consent_source="test", created_at=NOW)
        db.session.add_all([t, p])
        db.session.flush()
        appointments.book(db.session, t.id, p.id, ny(next_monday(), 10), 50, datetime.now(UTC), settings=current())
        db.session.commit()
        patient = p.id
    page = signed_in("coordinator")
    page.goto(f"/patients/{patient}")
    expect(page.get_by_role("heading", name="Try a reply")).to_be_visible()
    assert_accessible(page, "patient page with Send as patient")

    page.get_by_label("Reply", exact=True).fill("C")
    page.get_by_role("button", name="Send as patient").click()
    expect(page.get_by_text("Reply sent as the patient (simulated).")).to_be_visible()
    messages = page.get_by_role("region", name="Messages")
    expect(messages.get_by_role("row").filter(has_text="(simulated)")).to_have_count(2)
    expect(page.get_by_role("region", name="Upcoming sessions").get_by_text("Confirmed")).to_be_visible()
    shot(page, "try-a-reply")

    page.get_by_label("Reply", exact=True).fill("")
    page.get_by_role("button", name="Send as patient").click()  # `required`: the browser keeps it here
    expect(page.get_by_label("Reply", exact=True)).to_be_focused()

    page.get_by_label("Reply", exact=True).fill("STOP")
    page.get_by_role("button", name="Send as patient").click()
    expect(page.get_by_text("Opted out", exact=True)).to_be_visible()
    assert_accessible(page, "patient page after a simulated STOP")
    with live_app.app_context():
        assert db.session.scalar(select(Appointment.status)) == "confirmed"
        kinds = db.session.scalars(select(Message.kind).where(Message.simulated).order_by(Message.id)).all()
        assert kinds == ["confirm", "reply_confirm_ack", "opt_out", "reply_opt_out_ack"]
