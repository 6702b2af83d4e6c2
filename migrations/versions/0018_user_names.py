"""users.name: staff are listed by name, not only by email

Revision ID: 0018_user_names
Revises: 0019_appointment_series

"""
import sqlalchemy as sa
from alembic import op


revision = '0018_user_names'
down_revision = '0019_appointment_series'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('name', sa.String(length=200), nullable=True))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('name')
