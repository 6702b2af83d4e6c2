"""discharge_imports: uploaded discharge files, their import's counts and per-row report

Revision ID: 0016_imports
Revises: 0015

"""
import sqlalchemy as sa
from alembic import op

import scheduler.models.types

revision = '0016_imports'
down_revision = '0015'
branch_labels = None
depends_on = None

STATUSES = ("pending", "running", "checked", "done", "failed")


def upgrade():
    op.create_table(
        'discharge_imports',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('created_at', scheduler.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('file_hash', sa.String(length=64), nullable=False),
        sa.Column('content', sa.LargeBinary(), nullable=True),
        sa.Column('check_only', sa.Boolean(), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('beat_at', scheduler.models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('finished_at', scheduler.models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('rows_total', sa.Integer(), nullable=False),
        sa.Column('rows_done', sa.Integer(), nullable=False),
        sa.Column('created', sa.Integer(), nullable=False),
        sa.Column('updated', sa.Integer(), nullable=False),
        sa.Column('unchanged', sa.Integer(), nullable=False),
        sa.Column('refused', sa.Integer(), nullable=False),
        sa.Column('report', sa.Text(), nullable=True),
        sa.Column('error', sa.String(length=200), nullable=True),
        sa.CheckConstraint(f"status IN ({', '.join(repr(s) for s in STATUSES)})",
                           name=op.f('ck_discharge_imports_status')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_discharge_imports_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_discharge_imports')),
    )
    with op.batch_alter_table('discharge_imports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_discharge_imports_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('discharge_imports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_discharge_imports_user_id'))
    op.drop_table('discharge_imports')
