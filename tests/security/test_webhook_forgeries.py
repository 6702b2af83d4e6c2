"""Forged and replayed Twilio webhooks: each is refused (or, a verbatim retry, answered alike) and changes nothing."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from scheduler import jobs, webhooks
from scheduler.extensions import db
from scheduler.messaging.sms import new_sid
from scheduler.models import AuditEvent, Message, Patient, SeenSignature
from tests.support import NOW
from tests.support.webhooks import sign

TOKEN = "test-twilio-auth-token"
PUBLIC = "https://clinic.example.org"
PHONE = "+12015550101"


@pytest.fixture
def app(make_app):
    return make_app(TWILIO_AUTH_TOKEN=TOKEN, PUBLIC_BASE_URL=PUBLIC)


@pytest.fixture
def patient(make_patient):
    return make_patient(phone=PHONE)


def params(body: str, sid: str | None = None) -> dict:
    return {"AccountSid": "AC" + "0" * 32, "Body": body, "From": PHONE, "MessageSid": sid or new_sid(),
            "NumMedia": "0", "To": "+15005550006"}


def send(client, path, signed: dict, sent: dict | None = None, key=TOKEN, signed_for=PUBLIC,
         host="http://localhost", header=True):
    headers = {"X-Twilio-Signature": sign(signed_for + path, signed, key)} if header else {}
    return client.post(path, data=sent if sent is not None else signed, headers=headers, base_url=host)


def state(app) -> tuple:
    with app.app_context():
        patient = db.session.scalar(select(Patient))
        return (patient.opted_out_at is not None,
                db.session.scalar(select(func.count()).select_from(Message)))


def resplit(signed: dict) -> dict:
    """Move the MessageSid/NumMedia boundary: Twilio's signature cannot tell the difference."""
    forged = {k: v for k, v in signed.items() if k != "NumMedia"}
    forged["MessageSid"] = signed["MessageSid"] + "NumMedia" + signed["NumMedia"]
    return forged


def test_forgeries_are_refused_and_change_nothing(app, client, patient, probed):
    start = params("START")
    other = {**params("START"), "MessageSid": "SM" + "A" * 32}
    forgeries = [
        ("unsigned", dict(signed=start, header=False)),
        ("wrong key", dict(signed=start, key="not-the-token")),
        ("signed for the Host header", dict(signed=start, signed_for="http://localhost")),
        ("signed for another host it names", dict(signed=start, signed_for="https://evil.example",
                                                  host="https://evil.example")),
        ("tampered body", dict(signed=start, sent={**start, "Body": "STOP"})),
        ("re-split MessageSid", dict(signed=start, sent=resplit(start))),
        ("upper-case sid", dict(signed=other)),
        ("short sid", dict(signed={**start, "MessageSid": "SM123"})),
        ("malformed SmsSid", dict(signed={**start, "SmsSid": "SMxyz"})),
        ("no sid", dict(signed={k: v for k, v in start.items() if k != "MessageSid"})),
    ]
    before = state(app)
    for name, how in forgeries:
        for path in ("/sms/inbound", "/sms/status"):
            signed = how["signed"] if path == "/sms/inbound" else {
                **{k: v for k, v in how["signed"].items() if k in ("AccountSid", "MessageSid", "SmsSid")},
                "MessageStatus": "delivered"}
            sent = how.get("sent")
            if sent is not None and path == "/sms/status":
                sent = resplit({**signed, "NumMedia": "0"}) if name == "re-split MessageSid" else {
                    **signed, "MessageStatus": "failed"}
                if name == "re-split MessageSid":
                    signed = {**signed, "NumMedia": "0"}
            kwargs = {k: v for k, v in how.items() if k not in ("signed", "sent")}
            assert send(client, path, signed, sent, **kwargs).status_code == 403, (name, path)
            probed["forgeries"] += 1
    assert state(app) == before


def test_a_replayed_start_never_undoes_a_stop(app, client, patient, probed):
    start, stop = params("START"), params("STOP")
    assert send(client, "/sms/inbound", start).status_code == 200
    assert send(client, "/sms/inbound", stop).status_code == 200
    assert state(app)[0] is True
    with app.app_context():
        replies = db.session.scalar(select(func.count()).select_from(Message))
    # Verbatim: the signature was seen; answered as the retry it looks like, acted on never.
    assert send(client, "/sms/inbound", start).status_code == 200
    # Re-split at another boundary that keeps the sid well formed: the signature still matches.
    moved = {k: v for k, v in start.items() if k != "From"}
    moved["Body"] = start["Body"] + "From" + start["From"]
    assert send(client, "/sms/inbound", start, sent=moved).status_code == 200
    # Re-split into the sid: malformed.
    assert send(client, "/sms/inbound", start, sent=resplit(start)).status_code == 403
    probed["forgeries"] += 3
    assert state(app) == (True, replies)


def test_a_seen_signature_with_a_new_sid_is_refused(app, client, patient, probed):
    """A signature seen before never acts again, whatever the request now claims to be."""
    with app.app_context():
        first = params("START")
        key = webhooks.hashlib.sha256(sign(PUBLIC + "/sms/inbound", first, TOKEN).encode()).hexdigest()
        db.session.add(SeenSignature(signature_hash=key, seen_at=NOW))
        db.session.commit()
    assert send(client, "/sms/inbound", first).status_code == 403
    probed["forgeries"] += 1
    assert state(app) == (False, 0)


def test_status_callback_replays_are_harmless(app, client, patient, probed):
    sid = new_sid()
    with app.app_context():
        db.session.add(Message(patient_id=patient, direction="out", kind="reminder", status="sent",
                               twilio_sid=sid, body="x", attempts=1, created_at=NOW, sent_at=NOW, history=[]))
        db.session.commit()
    failed = {"AccountSid": "AC" + "0" * 32, "MessageSid": sid, "MessageStatus": "failed", "ErrorCode": "21610"}
    assert send(client, "/sms/status", failed).status_code == 204
    assert send(client, "/sms/status", failed).status_code == 204  # verbatim: not acted on again
    probed["forgeries"] += 1
    with app.app_context():
        rows = db.session.execute(select(AuditEvent.action, AuditEvent.entity, AuditEvent.entity_id)).all()
    # The carrier's opt-out (21610) by webhook is audited once.
    assert rows == [("opt_out", "patient", patient)]


def test_opt_out_and_opt_in_by_text_are_audited(app, client, patient):
    send(client, "/sms/inbound", params("STOP"))
    send(client, "/sms/inbound", params("STOP"))  # already out: no change, no row
    send(client, "/sms/inbound", params("START"))
    with app.app_context():
        rows = db.session.execute(select(AuditEvent.action, AuditEvent.entity_id, AuditEvent.user_id)
                                  .order_by(AuditEvent.id)).all()
    assert rows == [("opt_out", patient, None), ("opt_in", patient, None)]


def test_housekeeping_forgets_signatures_after_the_window(app, ctx):
    ctx.add_all([SeenSignature(signature_hash="a" * 64, seen_at=NOW - webhooks.SIGNATURE_WINDOW - timedelta(1)),
                 SeenSignature(signature_hash="b" * 64, seen_at=NOW)])
    ctx.commit()
    assert jobs.housekeeping(ctx, NOW)["signatures_pruned"] == 1
    assert ctx.scalars(select(SeenSignature.signature_hash)).all() == ["b" * 64]
