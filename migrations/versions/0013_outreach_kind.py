"""messages.kind also allows no_show_outreach (the invitation to book again after a no-show)

Revision ID: 0013
Revises: 0012

"""
from alembic import op


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

OLD = ("booked", "reminder", "rescheduled", "cancelled", "waitlist_promoted",
       "confirm", "reschedule", "opt_out", "opt_in", "help", "other",
       "reply_confirm_ack", "reply_nothing_to_confirm", "reply_reschedule_ack", "reply_opt_out_ack",
       "reply_opt_in_ack", "reply_help", "reply_unrecognized")
NEW = OLD[:5] + ("no_show_outreach",) + OLD[5:]


def _in(kinds):
    return f"kind IN ({', '.join(repr(k) for k in kinds)})"


def upgrade():
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_messages_kind'), type_='check')
        batch_op.create_check_constraint(op.f('ck_messages_kind'), _in(NEW))


def downgrade():
    # The older schema has no word for these texts: the ones not yet sent go, sent ones become
    # reminders in the log (never sent again: their status says they went).
    op.execute("DELETE FROM messages WHERE kind = 'no_show_outreach' AND status IN ('pending', 'withdrawn', 'skipped')"
               " AND id NOT IN (SELECT message_id FROM tasks WHERE message_id IS NOT NULL)")
    op.execute("UPDATE messages SET kind = 'reminder' WHERE kind = 'no_show_outreach'")
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_messages_kind'), type_='check')
        batch_op.create_check_constraint(op.f('ck_messages_kind'), _in(OLD))
