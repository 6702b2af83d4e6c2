"""tasks.kind is one of the task kinds (models.enums.TaskKind)

Revision ID: 0002
Revises: 0001

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

# Frozen here as this revision wrote it; tests/models/test_schema.py proves it equals the enum.
KINDS = ("reschedule_request", "opt_out", "consent_needed", "unrecognized_reply", "sms_failed",
         "no_show", "attendance_missing", "group_clash", "waitlist_clash")


def upgrade():
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.create_check_constraint(
            op.f('ck_tasks_kind'), f"kind IN ({', '.join(repr(k) for k in KINDS)})")


def downgrade():
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_tasks_kind'), type_='check')
