"""The migrated schema is the models' schema, on both engines."""
import re

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from scheduler.extensions import db
from scheduler.models import BUSY_APPOINTMENT_STATUSES


# PostgreSQL-only trigram indexes of migration 0017 (the patient search's LIKE '%q%'): not in the
# models, which SQLite shares; checked on their own below.
TRIGRAM = {"ix_patients_name_trgm", "ix_patients_phone_trgm"}


def _not_trigram(obj, name, type_, reflected, compare_to) -> bool:
    return not (type_ == "index" and name in TRIGRAM)


def test_migrations_match_models(app):
    with app.app_context(), db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(
            conn, opts={"compare_type": True, "include_object": _not_trigram}), db.metadata)
    assert diff == []


def test_postgres_searches_patients_by_trigram(app, engine_name):
    import pytest

    if engine_name != "postgresql":
        pytest.skip("trigram indexes exist on PostgreSQL only")
    with app.app_context(), db.engine.connect() as conn:
        found = dict(conn.execute(sa.text("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'patients'")).all())
    assert {name: ("gin_trgm_ops" in found.get(name, "")) for name in TRIGRAM} == {name: True for name in TRIGRAM}
    assert "lower((name)::text)" in found["ix_patients_name_trgm"]


def _quoted(sql: str) -> set[str]:
    """The string literals in a constraint's text: the vocabulary it allows."""
    return set(re.findall(r"'([^']*)'", sql))


def test_migrated_check_constraints_are_the_models(app):
    # compare_metadata does not look at CHECK constraints: compare names and allowed values here.
    models = {(table.name, c.name): _quoted(str(c.sqltext)) for table in db.metadata.tables.values()
              for c in table.constraints if isinstance(c, sa.CheckConstraint)}
    with app.app_context(), db.engine.connect() as conn:
        inspector = sa.inspect(conn)
        migrated = {(table, c["name"]): _quoted(c["sqltext"]) for table in db.metadata.tables
                    for c in inspector.get_check_constraints(table)}
    assert migrated == models


def test_postgres_exclusion_constraints_hold_the_busy_statuses(app, engine_name):
    import pytest

    if engine_name != "postgresql":
        pytest.skip("exclusion constraints exist on PostgreSQL only")
    with app.app_context(), db.engine.connect() as conn:
        rows = dict(conn.execute(sa.text(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = 'appointments'::regclass AND contype = 'x'")).all())
    assert set(rows) == {"ex_appointments_therapist_id_overlap", "ex_appointments_patient_id_overlap"}
    for definition in rows.values():
        assert _quoted(definition.split("WHERE", 1)[1]) == set(BUSY_APPOINTMENT_STATUSES)


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
