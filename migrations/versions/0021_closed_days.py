"""clinic_closures: days the clinic is closed, kept on /admin; the new-group preview warns about them

Revision ID: 0021_closed_days
Revises: 0017_report_indexes

"""
import sqlalchemy as sa
from alembic import op

import scheduler.models.types


revision = '0021_closed_days'
down_revision = '0017_report_indexes'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('clinic_closures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('closed_on', sa.Date(), nullable=False),
    sa.Column('note', sa.String(length=60), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', scheduler.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_clinic_closures_created_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_clinic_closures')),
    sa.UniqueConstraint('closed_on', name=op.f('uq_clinic_closures_closed_on'))
    )


def downgrade():
    op.drop_table('clinic_closures')
