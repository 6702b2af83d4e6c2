"""Migrations over data already there: what a live clinic's database holds when it upgrades."""
import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from scheduler.extensions import db
from tests.support import NOW


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
