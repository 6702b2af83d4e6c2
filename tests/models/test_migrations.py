"""Every migration upgrades and downgrades with data in the tables, on both engines.

A clinic upgrades a database full of patients, not an empty schema: rows written at the first
revision must come through every step up, every step down, and up again. (A model change with
no migration fails tests/models/test_schema.py: the migrated schema is compared with the models.)
"""
from __future__ import annotations

import os

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade

from scheduler import create_app
from scheduler.extensions import db
from tests.support import BASE_CONFIG, NOW

WHEN = "2026-03-02 12:00:00"
SEED = [  # rows valid at the first revision; every later one must keep them
    "INSERT INTO therapists (id, name, email, timezone, created_at) "
    f"VALUES (1, 'Dana Reyes', 'dana@clinic.test', 'America/New_York', '{WHEN}')",
    "INSERT INTO patients (id, name, phone, timezone, language, sms_consent, consent_at, consent_source, created_at) "
    f"VALUES (1, 'Sam Patient', '+12015550100', 'America/New_York', 'en', true, '{WHEN}', 'form', '{WHEN}')",
    "INSERT INTO appointments (id, therapist_id, patient_id, start_dt, end_dt, status, version, created_at, updated_at) "
    f"VALUES (1, 1, 1, '2026-03-03 15:00:00', '2026-03-03 15:50:00', 'scheduled', 1, '{WHEN}', '{WHEN}')",
    "INSERT INTO discharges (id, patient_id, discharge_date) VALUES (1, 1, '2026-03-01')",
    "INSERT INTO group_series (id, title, facilitator_id, capacity, duration_minutes, timezone, local_start, created_at) "
    f"VALUES (1, 'Tuesday', 1, 8, 60, 'America/New_York', '2026-03-03 18:00:00', '{WHEN}')",
    "INSERT INTO occurrences (id, group_id, local_date, start_dt, end_dt, cancelled) "
    "VALUES (1, 1, '2026-03-03', '2026-03-03 23:00:00', '2026-03-04 00:00:00', false)",
    f"INSERT INTO enrollments (id, group_id, patient_id, status, created_at) VALUES (1, 1, 1, 'enrolled', '{WHEN}')",
    "INSERT INTO messages (id, patient_id, direction, kind, appointment_id, status, attempts, uncertain, created_at, history) "
    f"VALUES (1, 1, 'out', 'booked', 1, 'sent', 1, false, '{WHEN}', '[]')",
    f"INSERT INTO users (id, email, role, active, created_at) VALUES (1, 'admin@clinic.test', 'admin', true, '{WHEN}')",
]
TABLES = ("therapists", "patients", "appointments", "discharges", "group_series", "occurrences",
          "enrollments", "messages", "users")


@pytest.fixture
def empty_app(engine_name, tmp_path, request):
    """An app on a database with nothing in it (not even the schema)."""
    if engine_name == "sqlite":
        yield create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'm.sqlite3'}"})
        return
    base = request.getfixturevalue("postgres_url")
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    name = f"scheduler_migrate_{os.getpid()}"
    with admin.connect() as conn:
        conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        conn.execute(sa.text(f"CREATE DATABASE {name}"))
    url = sa.make_url(base).set(database=name).render_as_string(hide_password=False)
    app = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": url})
    yield app
    with app.app_context():
        db.engine.dispose()
    with admin.connect() as conn:
        conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


def _chain(app) -> list[str]:
    """Revision ids from the first to the head, in order."""
    with app.app_context():
        script = ScriptDirectory.from_config(app.extensions["migrate"].migrate.get_config())
        return [rev.revision for rev in reversed(list(script.walk_revisions()))]


def _counts() -> dict[str, int]:
    with db.engine.connect() as conn:
        return {t: conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar() for t in TABLES}


def test_every_migration_goes_up_and_down_with_data(empty_app):
    chain = _chain(empty_app)
    assert len(chain) >= 2
    with empty_app.app_context():
        upgrade(revision=chain[0])
        with db.engine.begin() as conn:
            for statement in SEED:
                conn.execute(sa.text(statement))
        seeded = _counts()
        assert set(seeded.values()) == {1}
        for revision in chain[1:]:
            upgrade(revision=revision)
            assert _counts() == seeded, f"up to {revision}"
            downgrade(revision="-1")
            assert _counts() == seeded, f"down from {revision}"
            upgrade(revision=revision)
        downgrade(revision=chain[0])  # all the way down, then up again
        assert _counts() == seeded
        upgrade()
        assert _counts() == seeded
        db.engine.dispose()


def test_message_kinds_migrate_over_texts_a_task_refers_to(app):
    """0007 on data written under 0004: SQLite copies the messages table, which tasks refer to."""
    x = sa.text
    with app.app_context():
        downgrade(revision="0004")
        conn = db.session.connection()
        conn.execute(x("INSERT INTO patients (id, name, phone, timezone, language, sms_consent, created_at) "
                       "VALUES (1, 'P1', '+12015550101', 'UTC', 'en', true, :t)"), {"t": NOW})
        conn.execute(x("INSERT INTO messages (id, patient_id, direction, kind, status, attempts, uncertain, "
                       "created_at, history) VALUES (1, 1, 'in', 'reschedule', 'received', 0, false, :t, '[]')"),
                     {"t": NOW})
        conn.execute(x("INSERT INTO tasks (id, patient_id, kind, message_id, created_at) "
                       "VALUES (1, 1, 'reschedule_request', 1, :t)"), {"t": NOW})
        db.session.commit()
        upgrade()
        kept = db.session.execute(x("SELECT t.kind, m.kind FROM tasks t JOIN messages m ON m.id = t.message_id")).all()
        with pytest.raises(sa.exc.IntegrityError):
            db.session.execute(x("INSERT INTO messages (id, patient_id, direction, kind, status, attempts, "
                                 "uncertain, created_at, history) "
                                 "VALUES (2, 1, 'in', 'reply', 'received', 0, false, :t, '[]')"), {"t": NOW})
        db.session.rollback()
    assert kept == [("reschedule_request", "reschedule")]
