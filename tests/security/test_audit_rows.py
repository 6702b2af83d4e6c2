"""Audit gaps closed: refusals, texts dispatched (ids only) and an audit trail even TRUNCATE cannot empty."""
from __future__ import annotations

from datetime import time

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from scheduler.core import clock
from scheduler.core.settings import current
from scheduler.extensions import db
from scheduler.messaging import dispatch, sms
from scheduler.models import AuditEvent, AvailabilityRule, Message, Patient, Therapist
from tests.support import Api, at, book, next_monday


def audit_rows(app, *where) -> list[tuple]:
    with app.app_context():
        return db.session.execute(select(AuditEvent.action, AuditEvent.entity, AuditEvent.entity_id,
                                         AuditEvent.user_id).where(*where).order_by(AuditEvent.id)).all()


def test_refused_reads_and_changes_are_recorded_with_who_what_and_which_id(app, make_api, make_therapist,
                                                                           make_patient):
    mine, theirs = make_therapist("Mine"), make_therapist("Theirs")
    p = make_patient()
    coordinator, therapist = make_api("coordinator"), make_api("therapist", mine)
    appt = book(coordinator, theirs, p, at(next_monday(), 10)).json["id"]
    tries = [therapist.get(f"/patients/{p}"), therapist.get(f"/patients/{p}/messages"),
             therapist.post(f"/appointments/{appt}/cancel", json={}),
             therapist.patch(f"/patients/{p}", json={"name": "X"}),  # a role refusal (403)
             book(therapist, mine, p, at(next_monday(), 11))]
    assert [r.status_code for r in tries] == [404, 404, 404, 403, 404]
    assert audit_rows(app, AuditEvent.action == "refused") == [
        ("refused", "patient", p, therapist.user_id), ("refused", "patient", p, therapist.user_id),
        ("refused", "appointment", appt, therapist.user_id), ("refused", "patients", p, therapist.user_id),
        ("refused", "patient", p, therapist.user_id)]
    # The refusal was kept although the refused work was rolled back: nothing else changed.
    assert coordinator.get(f"/appointments/{appt}").json["status"] == "scheduled"


def test_each_text_dispatched_is_audited_by_id(make_app):
    app = make_app(QUIET_HOURS=None)  # whatever the hour this runs at, the booking text is due now
    with app.app_context():
        from scheduler.core import auth
        user = auth.create_user(db.session, "a@x.test", "admin", clock.now())
        therapist = Therapist(name="T", timezone="America/New_York", created_at=clock.now())
        therapist.rules = [AvailabilityRule(weekday=0, start_time=time(9), end_time=time(17))]
        patient = Patient(name="P", phone="+12015550111", timezone="America/New_York", language="en",
                          sms_consent=True, created_at=clock.now())
        db.session.add_all([therapist, patient])
        db.session.flush()
        api = Api(app.test_client(), auth.issue_token(db.session, user, clock.now()), user.id)
        ids = therapist.id, patient.id
        db.session.commit()
    assert book(api, *ids, at(next_monday(), 10)).status_code == 201
    with app.app_context():
        dispatch.run_once(db.session, clock.now, sms.make_backend(current().sms), settings=current())
        sent = db.session.scalars(select(Message.id).where(Message.status == "sent")).all()
    assert sent
    assert audit_rows(app, AuditEvent.action == "send") == [("send", "message", i, None) for i in sent]


def test_truncate_of_the_audit_trail_is_refused_on_postgresql(app, ctx, engine_name):
    if engine_name != "postgresql":
        pytest.skip("SQLite has no TRUNCATE; its DELETE is refused (tests/models/test_schema.py)")
    ctx.add(AuditEvent(at=sa.func.now(), action="read", entity="patient", entity_id=1))
    ctx.commit()
    with pytest.raises(sa.exc.DatabaseError, match="append-only"):
        ctx.execute(sa.text("TRUNCATE audit_events"))
    ctx.rollback()
    assert ctx.scalar(select(sa.func.count()).select_from(AuditEvent)) == 1
