"""The migrated schema is the models' schema, on both engines."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from scheduler.extensions import db


def test_migrations_match_models(app):
    with app.app_context(), db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), db.metadata)
    assert diff == []


def test_audit_trail_is_append_only(app, ctx):
    import pytest
    import sqlalchemy as sa

    from scheduler.models import AuditEvent
    from tests.support import NOW

    ctx.add(AuditEvent(at=NOW, action="read", entity="patient", entity_id=1))
    ctx.commit()
    with pytest.raises(sa.exc.DatabaseError):
        ctx.execute(sa.update(AuditEvent).values(action="update"))
        ctx.commit()
    ctx.rollback()
    with pytest.raises(sa.exc.DatabaseError):
        ctx.execute(sa.delete(AuditEvent))
        ctx.commit()
    ctx.rollback()
    assert ctx.query(AuditEvent).count() == 1
