"""availability_rules.end_time may be 00:00, meaning 24:00 (midnight ending the day)

Revision ID: 0014
Revises: 0013

"""
from alembic import op


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

NEW = "end_time > start_time OR end_time < '00:00:01'"
OLD = "end_time > start_time"


def upgrade():
    with op.batch_alter_table('availability_rules', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_availability_rules_order'), type_='check')
        batch_op.create_check_constraint(op.f('ck_availability_rules_order'), NEW)


def downgrade():
    # The older schema cannot say 24:00: such a block ends a minute early instead.
    op.execute("UPDATE availability_rules SET end_time = '23:59:00' WHERE end_time < '00:00:01'"
               " AND end_time <= start_time")
    with op.batch_alter_table('availability_rules', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_availability_rules_order'), type_='check')
        batch_op.create_check_constraint(op.f('ck_availability_rules_order'), OLD)
