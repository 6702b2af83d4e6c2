"""texts that hold up: opted-out numbers, early status callbacks, worker heartbeats and claim owners

Revision ID: 0004
Revises: 0001

"""
from alembic import op
import sqlalchemy as sa

import scheduler.models.types


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('opted_out_numbers',
    sa.Column('phone', sa.String(length=20), nullable=False),
    sa.Column('opted_out_at', scheduler.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('phone', name=op.f('pk_opted_out_numbers'))
    )
    op.create_table('early_statuses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('twilio_sid', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('error_code', sa.Integer(), nullable=True),
    sa.Column('received_at', scheduler.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_early_statuses'))
    )
    with op.batch_alter_table('early_statuses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_early_statuses_twilio_sid'), ['twilio_sid'], unique=False)
    op.create_table('workers',
    sa.Column('id', sa.String(length=80), nullable=False),
    sa.Column('started_at', scheduler.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('heartbeat_at', scheduler.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_workers'))
    )
    with op.batch_alter_table('workers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_workers_heartbeat_at'), ['heartbeat_at'], unique=False)
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claimed_by', sa.String(length=80), nullable=True))


def downgrade():
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_column('claimed_by')
    with op.batch_alter_table('workers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_workers_heartbeat_at'))
    op.drop_table('workers')
    with op.batch_alter_table('early_statuses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_early_statuses_twilio_sid'))
    op.drop_table('early_statuses')
    op.drop_table('opted_out_numbers')
