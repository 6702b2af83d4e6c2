"""text templates: admins' stored wording per kind and language

Revision ID: 0006
Revises: 0001

"""
from alembic import op
import sqlalchemy as sa

import scheduler.models.types


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('text_templates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('language', sa.String(length=2), nullable=False),
    sa.Column('body', sa.String(length=500), nullable=False),
    sa.Column('updated_by', sa.Integer(), nullable=True),
    sa.Column('updated_at', scheduler.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['updated_by'], ['users.id'], name=op.f('fk_text_templates_updated_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_text_templates')),
    sa.UniqueConstraint('kind', 'language', name=op.f('uq_text_templates_kind'))
    )


def downgrade():
    op.drop_table('text_templates')
