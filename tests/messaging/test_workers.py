"""Real processes against one database: racing dispatch passes, and a worker killed mid-send.

The processes read the real clock, so every row here is due a minute before the test starts.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from scheduler.core.settings import current
from scheduler.extensions import db
from scheduler.models import Message, Patient
from scheduler.scheduling import appointments
from tests.support.twilio_standin import TwilioStandin

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
ALL_HOURS = ((0, 1, 2, 3, 4, 5, 6), "00:00", "23:59")


def _env(database_url: str, standin: TwilioStandin, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "FLASK_"))}
    env.update(DATABASE_URL=database_url, SECRET_KEY="test", SMS_BACKEND="twilio",
               TWILIO_ACCOUNT_SID=standin.account_sid, TWILIO_AUTH_TOKEN="x" * 32,
               TWILIO_MESSAGING_SERVICE_SID="MG" + "0" * 32, TWILIO_API_BASE_URL=standin.base_url,
               QUIET_HOURS="off", SMS_MAX_PER_SECOND="10000", SMS_TIMEOUT_SECONDS="2",
               PUBLIC_BASE_URL="https://clinic.example")
    env.update({k: str(v) for k, v in extra.items()})
    return env


def _flask(args: list[str], env: dict, log: Path) -> subprocess.Popen:
    with log.open("w") as out:  # the child keeps its own descriptor
        return subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", *args], cwd=ROOT,
                                env=env, stdout=out, stderr=subprocess.STDOUT)


def _due_bookings(app, make_therapist, make_patient, count: int) -> list[int]:
    """`count` appointments booked a minute ago (one each per patient): their booking texts are due."""
    therapist = make_therapist(hours=ALL_HOURS)
    patients = [make_patient() for _ in range(count)]
    now = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    first = now.replace(minute=0, second=0) + timedelta(days=3)
    with app.app_context():
        for i, pid in enumerate(patients):
            appointments.book(db.session, therapist, pid, first + timedelta(hours=i), 40, now, settings=current())
        db.session.commit()
    return patients


def _statuses(app) -> dict[str, int]:
    with app.app_context():
        return dict(db.session.execute(select(Message.status, func.count()).where(Message.kind == "booked")
                                       .group_by(Message.status)).all())


def _assert_each_sent_once(app, standin: TwilioStandin, count: int) -> None:
    assert len(standin.accepted) == count
    with app.app_context():
        phones = dict(db.session.execute(select(Patient.id, Patient.phone)).all())
        rows = db.session.scalars(select(Message).where(Message.kind == "booked")).all()
        assert len(rows) == count and {r.status for r in rows} == {"sent"}
        accepted = {a["sid"]: a for a in standin.accepted}
        for row in rows:  # the sid recorded is the one Twilio accepted, for that patient, with that text
            assert accepted[row.twilio_sid]["to"] == phones[row.patient_id]
            assert accepted[row.twilio_sid]["body"] == row.body
    assert len({a["to"] for a in standin.accepted}) == count


def test_two_dispatch_passes_race_over_the_same_rows(make_app, database_url, standin, make_therapist,
                                                     make_patient, tmp_path):
    app = make_app(QUIET_HOURS=None)
    _due_bookings(app, make_therapist, make_patient, 200)
    env = _env(database_url, standin, DISPATCH_BATCH_SIZE=10)
    procs = [_flask(["reminders", "dispatch"], env, tmp_path / f"dispatch{n}.log") for n in range(2)]
    for proc in procs:
        assert proc.wait(timeout=120) == 0
    outputs = [(tmp_path / f"dispatch{n}.log").read_text() for n in range(2)]
    sent = [int(line.split("sent=")[1].split()[0]) for out in outputs for line in out.splitlines()
            if line.startswith("dispatch: ")]
    assert sum(sent) == 200, outputs
    _assert_each_sent_once(app, standin, 200)


def test_worker_killed_mid_send_loses_and_doubles_nothing(make_app, database_url, standin, make_therapist,
                                                          make_patient, tmp_path):
    app = make_app(QUIET_HOURS=None)
    _due_bookings(app, make_therapist, make_patient, 30)
    # The sixth text is accepted but its answer never comes: the worker is mid-send when killed.
    standin.script(*[("ok",)] * 5, ("accept_then_hang", 60))
    env = _env(database_url, standin, DISPATCH_BATCH_SIZE=10, DISPATCH_LEASE_SECONDS=1,
               DISPATCH_INTERVAL_SECONDS=0.5, SMS_MAX_PER_SECOND=20)
    worker = _flask(["worker"], env, tmp_path / "worker1.log")
    deadline = time.monotonic() + 60
    while standin.requests < 6 and time.monotonic() < deadline and worker.poll() is None:
        time.sleep(0.01)
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=10)
    assert standin.requests >= 6, (tmp_path / "worker1.log").read_text()
    stuck = _statuses(app)
    assert stuck.get("sending", 0) >= 1 and stuck.get("pending", 0) >= 1, stuck

    restarted = _flask(["worker"], env, tmp_path / "worker2.log")
    deadline = time.monotonic() + 90
    while _statuses(app).get("sent", 0) < 30 and time.monotonic() < deadline:
        time.sleep(0.25)
    restarted.send_signal(signal.SIGTERM)
    assert restarted.wait(timeout=30) == 0, (tmp_path / "worker2.log").read_text()
    log = (tmp_path / "worker2.log").read_text()
    assert "worker: stopped" in log and "+1201" not in log
    _assert_each_sent_once(app, standin, 30)
    assert standin.requests == 30 and standin.list_requests >= 1
    with app.app_context():  # texts accepted but not yet recorded were found at Twilio, not resent
        found = [m for m in db.session.scalars(select(Message).where(Message.kind == "booked"))
                 if any("found at Twilio" in (h.get("detail") or "") for h in m.history)]
        assert found and {m.attempts for m in found} == {1}  # the send that reached Twilio, once
