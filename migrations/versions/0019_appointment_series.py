"""Weekly sessions booked together: appointment_series, appointments.series_id, and the texts
booked_weekly and cancelled_weekly

Revision ID: 0019_appointment_series
Revises: 0020_simulated_replies

"""
import sqlalchemy as sa
from alembic import op

from scheduler.models.types import UTCDateTime

revision = '0019_appointment_series'
down_revision = '0020_simulated_replies'
branch_labels = None
depends_on = None

OLD = ("booked", "reminder", "rescheduled", "cancelled", "waitlist_promoted", "no_show_outreach",
       "confirm", "reschedule", "opt_out", "opt_in", "help", "other",
       "reply_confirm_ack", "reply_nothing_to_confirm", "reply_reschedule_ack", "reply_opt_out_ack",
       "reply_opt_in_ack", "reply_help", "reply_unrecognized")
NEW = OLD[:6] + ("booked_weekly", "cancelled_weekly") + OLD[6:]


def _in(kinds):
    return f"kind IN ({', '.join(repr(k) for k in kinds)})"


def upgrade():
    op.create_table('appointment_series',
                    sa.Column('id', sa.Integer(), nullable=False),
                    sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
                    sa.PrimaryKeyConstraint('id', name=op.f('pk_appointment_series')))
    with op.batch_alter_table('appointments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('series_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_appointments_series_id_appointment_series'),
                                    'appointment_series', ['series_id'], ['id'])
        batch_op.create_index('ix_appointments_series', ['series_id'], unique=False)
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_messages_kind'), type_='check')
        batch_op.create_check_constraint(op.f('ck_messages_kind'), _in(NEW))


def downgrade():
    # The older schema has no word for these texts: unsent ones go, sent ones read as a booking
    # or a cancellation in the log (their status says they went, so they are never sent again).
    op.execute("DELETE FROM messages WHERE kind IN ('booked_weekly', 'cancelled_weekly')"
               " AND status IN ('pending', 'withdrawn', 'skipped')"
               " AND id NOT IN (SELECT message_id FROM tasks WHERE message_id IS NOT NULL)")
    op.execute("UPDATE messages SET kind = 'booked' WHERE kind = 'booked_weekly'")
    op.execute("UPDATE messages SET kind = 'cancelled' WHERE kind = 'cancelled_weekly'")
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_messages_kind'), type_='check')
        batch_op.create_check_constraint(op.f('ck_messages_kind'), _in(OLD))
    with op.batch_alter_table('appointments', schema=None) as batch_op:
        batch_op.drop_index('ix_appointments_series')
        batch_op.drop_constraint(batch_op.f('fk_appointments_series_id_appointment_series'), type_='foreignkey')
        batch_op.drop_column('series_id')
    op.drop_table('appointment_series')
