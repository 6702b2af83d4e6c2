"""No log line carries a patient's name, phone or a message body: the logs of a whole run, scanned.

The run: the demo, API calls (good and failing, including a statement the database rejects),
a dispatch pass, the worker's jobs (one of them failing on a statement with patient data),
and webhooks (replies, STOP, an unknown number, forgeries).
"""
from __future__ import annotations

import logging

import phonenumbers
from sqlalchemy import select, text

from scheduler import jobs
from scheduler.core import clock
from scheduler.core.settings import current
from scheduler.extensions import db
from scheduler.messaging import dispatch, sms
from scheduler.models import Message, Patient
from tests.support import Api
from tests.support.webhooks import sign

TOKEN = "log-scan-twilio-token"
PUBLIC = "https://clinic.example.org"
SECRET_BODY = "my sponsor Quentin says hi 4471"


def variants(phone: str) -> set[str]:
    """A number as it might be written: E.164, national digits, formatted."""
    number = phonenumbers.parse(phone)
    national = str(number.national_number)
    return {phone, national, phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)}


def webhook(client, body: str, phone: str, sid: str | None = None):
    params = {"AccountSid": "AC" + "0" * 32, "Body": body, "From": phone, "MessageSid": sid or sms.new_sid(),
              "NumMedia": "0", "To": "+15005550006"}
    return client.post("/sms/inbound", data=params, base_url="http://localhost",
                       headers={"X-Twilio-Signature": sign(PUBLIC + "/sms/inbound", params, TOKEN)})


def test_no_log_line_carries_patient_data(make_app, caplog, capfd, probed):
    caplog.set_level(logging.DEBUG)
    app = make_app(TWILIO_AUTH_TOKEN=TOKEN, PUBLIC_BASE_URL=PUBLIC, QUIET_HOURS=None)
    runner, client = app.test_cli_runner(), app.test_client()
    demo = runner.invoke(args=["demo"])
    assert demo.exit_code == 0, demo.output
    api = Api(client, demo.output.strip().splitlines()[-1].split()[-1], 0)
    with app.app_context():
        people = db.session.execute(select(Patient.id, Patient.name, Patient.phone)).all()
    pid, name, phone = people[0]

    # API: reads, writes, and failures of every kind.
    api.get(f"/patients/{pid}")
    api.get(f"/patients/{pid}/messages")
    api.post("/patients", json={"name": name, "phone": phone, "timezone": "America/New_York", "sms_consent": True})
    api.post("/patients", json={"name": "Yolanda Brightwater", "phone": "not a phone " + phone,
                                "timezone": "Mars/Base", "sms_consent": "yes"})
    api.patch(f"/patients/{pid}", json={"name": "Zebulon Marchetti", "phone": people[1][2]})  # 409 phone taken
    api.post("/patients", data='{"name": "' + name + '", ', content_type="application/json")  # malformed
    # A statement the database itself rejects (PostgreSQL refuses NUL in text): an unhandled error, logged.
    client.application.config["PROPAGATE_EXCEPTIONS"] = False
    api.patch(f"/patients/{pid}", json={"name": "Nul\x00" + name})
    client.get(f"/api/v1/patients/{pid}", headers={"Authorization": "Bearer " + phone})

    # Dispatch, the worker's jobs, and a job failing on a statement that carries patient data.
    with app.app_context():
        dispatch.run_once(db.session, clock.now, sms.make_backend(current().sms), settings=current())
        jobs.housekeeping(db.session, clock.now())
        jobs.no_show_followups(db.session, clock.now())

        def failing(session, now):
            session.execute(text("SELECT * FROM no_such_table WHERE name = :n AND phone = :p"),
                            {"n": name, "p": phone})
        failing.__name__ = "failing"
        jobs._job(app, failing)

    # Webhooks: replies, STOP, an unknown number, a forgery.
    for body in ("C", "R", SECRET_BODY, "STOP", "START"):
        webhook(client, body, phone)
    webhook(client, SECRET_BODY, "+12015559876")
    client.post("/sms/inbound", data={"Body": SECRET_BODY, "From": phone})

    with app.app_context():
        bodies = {b for b in db.session.scalars(select(Message.body)) if b and len(b) > 12}
    secrets = {n for _, n, _ in people} | {v for _, _, p in people for v in variants(p)} | bodies
    secrets |= {SECRET_BODY, "Yolanda Brightwater", "Zebulon Marchetti"}
    lines = []
    for record in caplog.records:
        lines += record.getMessage().splitlines()
        if record.exc_info:
            lines += logging.Formatter().formatException(record.exc_info).splitlines()
    err = capfd.readouterr().err.splitlines()  # what the process wrote to stderr (the log handler's copy)
    lines += err
    leaks = [(line, s) for line in lines for s in secrets if s in line]
    probed["log lines scanned"] += len(lines)
    assert len(lines) >= 4 and leaks == []
