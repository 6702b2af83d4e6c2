"""Indexes for the reports and the patient search at a clinic network's scale

Revision ID: 0017_report_indexes
Revises: 0015

- appointments (patient_id, start_dt) WHERE status = 'attended': a discharge's first attended
  session is the first entry of this index after its day 1 (the follow-up report's probe).
- patients (name, id): the patient search's order, so a common word stops after 20 matches.
- PostgreSQL: trigram (pg_trgm) GIN indexes on lower(name) and phone, so `LIKE '%q%'` finds
  rare matches without reading every patient.
"""
import sqlalchemy as sa
from alembic import op


revision = '0017_report_indexes'
down_revision = '0015'
branch_labels = None
depends_on = None

ATTENDED = "status = 'attended'"


def upgrade():
    op.create_index('ix_appointments_attended', 'appointments', ['patient_id', 'start_dt'], unique=False,
                    sqlite_where=sa.text(ATTENDED), postgresql_where=sa.text(ATTENDED))
    op.create_index('ix_patients_name', 'patients', ['name', 'id'], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute("CREATE INDEX ix_patients_name_trgm ON patients USING gin (lower(name) gin_trgm_ops)")
        op.execute("CREATE INDEX ix_patients_phone_trgm ON patients USING gin (phone gin_trgm_ops)")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_patients_phone_trgm")
        op.execute("DROP INDEX IF EXISTS ix_patients_name_trgm")
    op.drop_index('ix_patients_name', table_name='patients')
    op.drop_index('ix_appointments_attended', table_name='appointments')
