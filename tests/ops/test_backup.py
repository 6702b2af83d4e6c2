"""Backups: a consistent copy while the app runs, readable by its owner alone, restored only into
an empty database, and never texting a patient about the past (texts due before the restore are stale)."""
from __future__ import annotations

import os
import stat
import threading
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from scheduler import create_app
from scheduler.extensions import db
from scheduler.models import Appointment, Message, MessageStatus, Patient, SkipReason
from tests.support import BASE_CONFIG, at, count, next_monday


@pytest.fixture
def empty_url(database_url, tmp_path):
    """An empty database on the same engine, to restore into."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'restored.sqlite3'}"
        return
    admin = sa.create_engine(database_url, isolation_level="AUTOCOMMIT")
    name = f"scheduler_restore_{os.getpid()}"
    with admin.connect() as conn:
        conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        conn.execute(sa.text(f"CREATE DATABASE {name}"))
    yield sa.make_url(database_url).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


def _app(url):
    return create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": url})


def _counts(app) -> dict:
    with app.app_context():
        return {"patients": count(db.session, Patient), "appointments": count(db.session, Appointment),
                "messages": count(db.session, Message)}


def _messages(app, now, *due_offsets) -> None:
    """Pending texts due at now + each offset (minutes)."""
    patient = None
    with app.app_context():
        patient = db.session.scalar(sa.select(Patient.id).limit(1))
        for minutes in due_offsets:
            db.session.add(Message(patient_id=patient, kind="reminder", status=MessageStatus.PENDING,
                                   due_at=now + timedelta(minutes=minutes), created_at=now))
        db.session.commit()


def test_backup_is_owner_only_and_restores_with_the_same_data(app, runner, make_patient, empty_url, tmp_path):
    for n in range(3):
        make_patient(name=f"Pat {n}")
    now = datetime.now(UTC)
    _messages(app, now, -30, 24 * 60)  # one due half an hour ago, one due tomorrow
    file = tmp_path / "clinic.backup"
    result = runner.invoke(args=["backup", str(file)])
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(file.stat().st_mode) == 0o600

    restored = _app(empty_url)
    result = restored.test_cli_runner().invoke(args=["restore", str(file)])
    assert result.exit_code == 0, result.output
    assert "1 texts" in result.output
    assert _counts(restored) == _counts(app)
    with restored.app_context():
        rows = {m.due_at > now: m for m in db.session.scalars(sa.select(Message))}
        # The one whose moment passed is never sent; tomorrow's still goes at its time.
        assert (rows[False].status, rows[False].skip_reason) == (MessageStatus.SKIPPED, SkipReason.STALE)
        assert rows[True].status == MessageStatus.PENDING
        db.session.remove()
        db.engine.dispose()


def test_restore_refuses_a_database_that_holds_data(app, runner, make_patient, tmp_path):
    make_patient()
    file = tmp_path / "clinic.backup"
    assert runner.invoke(args=["backup", str(file)]).exit_code == 0
    before = _counts(app)
    result = runner.invoke(args=["restore", str(file)])
    assert result.exit_code != 0
    assert "not empty" in result.output
    assert _counts(app) == before


def test_a_backup_under_load_restores_consistently(app, make_api, make_therapist, make_patient, runner,
                                                   empty_url, tmp_path):
    """Bookings keep arriving while the backup runs: what is restored is one moment's whole truth."""
    api = make_api("admin")
    therapist = make_therapist(hours=((0, 1, 2, 3, 4, 5, 6), "00:00", "23:59"))
    patients = [make_patient(name=f"Load {n}") for n in range(40)]
    day = next_monday()
    stop = threading.Event()
    booked = []

    def book():
        client = app.test_client()
        for n, patient in enumerate(patients):
            if stop.is_set():
                break
            r = client.post("/api/v1/appointments", headers=api.headers, json={
                "therapist_id": therapist, "patient_id": patient,
                "start": at(day + timedelta(days=n // 20), 1 + n % 20), "duration_minutes": 50})
            assert r.status_code == 201, r.json
            booked.append(r.json["id"])

    thread = threading.Thread(target=book)
    thread.start()
    while len(booked) < 5:
        threading.Event().wait(0.01)
    at_start = len(booked)
    file = tmp_path / "load.backup"
    assert runner.invoke(args=["backup", str(file)]).exit_code == 0
    at_end = len(booked)
    stop.set()
    thread.join()

    restored = _app(empty_url)
    assert restored.test_cli_runner().invoke(args=["restore", str(file)]).exit_code == 0
    counts = _counts(restored)
    assert at_start <= counts["appointments"] <= at_end + 1
    with restored.app_context():
        # Each booking wrote its appointment and its booking text together: none is half there.
        texted = db.session.scalar(sa.select(sa.func.count(sa.distinct(Message.appointment_id))))
        assert texted == counts["appointments"]
        db.session.remove()
        db.engine.dispose()


def test_restore_goes_into_an_empty_schema_made_by_db_upgrade(app, runner, make_patient, empty_url, tmp_path):
    from flask_migrate import upgrade

    make_patient()
    file = tmp_path / "clinic.backup"
    assert runner.invoke(args=["backup", str(file)]).exit_code == 0
    restored = _app(empty_url)
    with restored.app_context():
        upgrade()  # what an operator runs first on a new server
        db.engine.dispose()
    result = restored.test_cli_runner().invoke(args=["restore", str(file)])
    assert result.exit_code == 0, result.output
    assert _counts(restored) == _counts(app)
    with restored.app_context():
        db.session.remove()
        db.engine.dispose()
