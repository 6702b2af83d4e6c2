"""Health for a load balancer, status for a person and a monitor: what each tells and when it fails."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from scheduler import create_app
from scheduler.extensions import db
from scheduler.models import Message, MessageStatus, Worker
from tests.support import BASE_CONFIG


def _book(api, make_therapist, make_patient) -> None:
    """One text due five minutes ago (whatever the real clock's quiet hours say now)."""
    patient = make_patient()
    now = datetime.now(UTC)
    with api.client.application.app_context():
        db.session.add(Message(patient_id=patient, kind="booked", status=MessageStatus.PENDING,
                               due_at=now - timedelta(minutes=5), created_at=now - timedelta(minutes=6)))
        db.session.commit()


def test_healthz_says_the_database_answers(client):
    r = client.get("/healthz")
    assert (r.status_code, r.json) == (200, {"database": "ok"})


def test_healthz_is_503_naming_the_database_when_it_is_unreachable(tmp_path):
    # Nothing listens on port 1: the balancer must take this instance out of rotation.
    app = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://nobody@127.0.0.1:1/none",
                      "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"connect_timeout": 2}}})
    r = app.test_client().get("/healthz")
    assert r.status_code == 503
    assert r.json["database"].startswith("unreachable")


def test_status_is_stalled_when_texts_are_due_and_no_worker_beats(app, api, runner, make_therapist, make_patient):
    _book(api, make_therapist, make_patient)  # the booking text is due at once
    result = runner.invoke(args=["status"])
    assert result.exit_code == 1, result.output
    assert "texts due: 1" in result.output and "STALLED" in result.output
    body = api.get("/status").json
    assert body["stalled"] is True and body["texts_due"] == 1 and body["workers_alive"] == 0
    assert body["oldest_due_at"] is not None


def test_a_beating_worker_means_not_stalled(app, api, runner, make_therapist, make_patient):
    _book(api, make_therapist, make_patient)
    now = datetime.now(UTC)
    with app.app_context():
        db.session.add(Worker(id="w-live", started_at=now, heartbeat_at=now))
        db.session.add(Worker(id="w-dead", started_at=now, heartbeat_at=now - timedelta(minutes=5)))
        db.session.commit()
    result = runner.invoke(args=["status"])
    assert result.exit_code == 0, result.output
    assert "workers alive: 1" in result.output and "STALLED" not in result.output
    body = api.get("/status").json
    assert (body["stalled"], body["workers_alive"]) == (False, 1)


def test_nothing_due_is_not_stalled_even_without_workers(api, runner):
    result = runner.invoke(args=["status"])
    assert result.exit_code == 0 and "texts due: 0" in result.output
    assert api.get("/status").json["stalled"] is False


def test_status_is_for_admins_only(make_api):
    assert make_api("coordinator").get("/status").status_code == 403
