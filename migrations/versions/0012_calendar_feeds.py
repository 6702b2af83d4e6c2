"""calendar feeds: therapists' private feed links (hashes only) and clinic options set on /admin

Revision ID: 0012
Revises: 0011

"""
from alembic import op
import sqlalchemy as sa

import scheduler.models.types


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('calendar_feeds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('therapist_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', scheduler.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('revoked_at', scheduler.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_calendar_feeds_created_by_users')),
    sa.ForeignKeyConstraint(['therapist_id'], ['therapists.id'], name=op.f('fk_calendar_feeds_therapist_id_therapists')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calendar_feeds')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_calendar_feeds_token_hash'))
    )
    op.create_index('uq_calendar_feeds_live_therapist', 'calendar_feeds', ['therapist_id'], unique=True,
                    sqlite_where=sa.text('revoked_at IS NULL'), postgresql_where=sa.text('revoked_at IS NULL'))
    op.create_table('clinic_options',
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('value', sa.String(length=200), nullable=False),
    sa.Column('updated_by', sa.Integer(), nullable=True),
    sa.Column('updated_at', scheduler.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['updated_by'], ['users.id'], name=op.f('fk_clinic_options_updated_by_users')),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_clinic_options'))
    )


def downgrade():
    op.drop_table('clinic_options')
    op.drop_index('uq_calendar_feeds_live_therapist', table_name='calendar_feeds')
    op.drop_table('calendar_feeds')
