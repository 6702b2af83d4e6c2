"""messages.kind is one of the message kinds (models.enums.MessageKind)

Revision ID: 0007
Revises: 0004

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0004'
branch_labels = None
depends_on = None

# Frozen here as this revision wrote it; tests/models/test_schema.py proves it equals the enum.
KINDS = ("booked", "reminder", "rescheduled", "cancelled", "waitlist_promoted",
         "confirm", "reschedule", "opt_out", "opt_in", "help", "other",
         "reply_confirm_ack", "reply_nothing_to_confirm", "reply_reschedule_ack", "reply_opt_out_ack",
         "reply_opt_in_ack", "reply_help", "reply_unrecognized")


def upgrade():
    # Batch mode: SQLite adds a CHECK only by copying the table (PostgreSQL alters it in place).
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.create_check_constraint(
            op.f('ck_messages_kind'), f"kind IN ({', '.join(repr(k) for k in KINDS)})")


def downgrade():
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_messages_kind'), type_='check')
