"""aftercare plans on discharges, follow-up task kinds raised once per cause

Revision ID: 0011
Revises: 0009

Existing discharges get the default plan (90 days, 1 individual session and 1 group meeting a
week) through the columns' server defaults. That raises no task by itself: the follow-up pass
never looks at a cause older than 14 days (aftercare.followups.LOOKBACK).
"""
from alembic import op
import sqlalchemy as sa

import scheduler.models.types


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0009'
branch_labels = None
depends_on = None

# Frozen here as this revision wrote them; tests/models/test_schema.py proves they equal the enums.
OLD_KINDS = ("reschedule_request", "opt_out", "consent_needed", "unrecognized_reply", "sms_failed",
             "no_show", "attendance_missing", "group_clash", "waitlist_clash")
NEW_KINDS = OLD_KINDS + ("no_booking_3d", "no_attendance_7d", "missed_twice", "quiet_14d")
END_REASONS = ("readmitted", "transferred", "moved", "declined", "died", "other")


def _in(column, values):
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade():
    with op.batch_alter_table('discharges', schema=None) as batch_op:
        batch_op.add_column(sa.Column('plan_days', sa.Integer(), server_default='90', nullable=False))
        batch_op.add_column(sa.Column('individual_per_week', sa.Integer(), server_default='1', nullable=False))
        batch_op.add_column(sa.Column('groups_per_week', sa.Integer(), server_default='1', nullable=False))
        batch_op.add_column(sa.Column('ended_at', scheduler.models.types.UTCDateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column('ended_reason', sa.String(length=20), nullable=True))
        batch_op.create_check_constraint(op.f('ck_discharges_plan_days'), 'plan_days BETWEEN 1 AND 365')
        batch_op.create_check_constraint(op.f('ck_discharges_individual_per_week'),
                                         'individual_per_week BETWEEN 0 AND 7')
        batch_op.create_check_constraint(op.f('ck_discharges_groups_per_week'), 'groups_per_week BETWEEN 0 AND 7')
        batch_op.create_check_constraint(op.f('ck_discharges_ended_reason'),
                                         f"ended_reason IS NULL OR {_in('ended_reason', END_REASONS)}")
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cause', sa.String(length=100), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_tasks_kind'), ['kind', 'cause'])
        batch_op.drop_constraint(op.f('ck_tasks_kind'), type_='check')
        batch_op.create_check_constraint(op.f('ck_tasks_kind'), _in('kind', NEW_KINDS))


def downgrade():
    op.execute(f"DELETE FROM tasks WHERE kind NOT IN ({', '.join(repr(k) for k in OLD_KINDS)})")
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_tasks_kind'), type_='check')
        batch_op.create_check_constraint(op.f('ck_tasks_kind'), _in('kind', OLD_KINDS))
        batch_op.drop_constraint(batch_op.f('uq_tasks_kind'), type_='unique')
        batch_op.drop_column('cause')
    with op.batch_alter_table('discharges', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_discharges_ended_reason'), type_='check')
        batch_op.drop_constraint(op.f('ck_discharges_groups_per_week'), type_='check')
        batch_op.drop_constraint(op.f('ck_discharges_individual_per_week'), type_='check')
        batch_op.drop_constraint(op.f('ck_discharges_plan_days'), type_='check')
        batch_op.drop_column('ended_reason')
        batch_op.drop_column('ended_at')
        batch_op.drop_column('groups_per_week')
        batch_op.drop_column('individual_per_week')
        batch_op.drop_column('plan_days')
