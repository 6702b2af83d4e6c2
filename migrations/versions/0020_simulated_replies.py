"""messages.simulated: a reply staff sent as a patient (DEMO_REPLIES), and its answer

Revision ID: 0020_simulated_replies
Revises: 0016_imports

"""
import sqlalchemy as sa
from alembic import op


revision = '0020_simulated_replies'
down_revision = '0016_imports'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('simulated', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade():
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_column('simulated')
