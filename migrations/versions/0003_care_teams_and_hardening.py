"""care teams, token expiry and session revocation, seen webhook signatures, no TRUNCATE of audit

Revision ID: 0003
Revises: 0001

Today's patients get a care team from the bookings coordinators and admins made (the
appointment's 'booked' event or its 'create' audit row names a staff user). Bookings a
therapist made alone, or that name no user, grant nothing; group facilitators keep seeing
their groups' enrolled and waitlisted patients through the access rule itself.
Existing API tokens expire 90 days after this migration; new ones per `users token --days`.
"""
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

import scheduler.models.types

revision = '0003'
down_revision = '0006'
branch_labels = None
depends_on = None

STAFF = ('admin', 'coordinator')
TOKEN_DAYS = 90


def upgrade():
    op.create_table('care_team',
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('therapist_id', sa.Integer(), nullable=False),
    sa.Column('added_at', scheduler.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('added_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['added_by'], ['users.id'], name=op.f('fk_care_team_added_by_users')),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_care_team_patient_id_patients')),
    sa.ForeignKeyConstraint(['therapist_id'], ['therapists.id'], name=op.f('fk_care_team_therapist_id_therapists')),
    sa.PrimaryKeyConstraint('patient_id', 'therapist_id', name=op.f('pk_care_team'))
    )
    with op.batch_alter_table('care_team', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_care_team_therapist_id'), ['therapist_id'], unique=False)
    _care_teams_from_staff_bookings()
    op.create_table('seen_signatures',
    sa.Column('signature_hash', sa.String(length=64), nullable=False),
    sa.Column('seen_at', scheduler.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('signature_hash', name=op.f('pk_seen_signatures'))
    )
    with op.batch_alter_table('seen_signatures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_seen_signatures_seen_at'), ['seen_at'], unique=False)
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_version', sa.Integer(), server_default='0', nullable=False))
    _token_expiry()
    if op.get_bind().dialect.name == "postgresql":
        # The row trigger of 0001 cannot see TRUNCATE; a statement trigger refuses it too.
        op.execute("CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events "
                    "FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()")


def _care_teams_from_staff_bookings():
    bind = op.get_bind()
    now = datetime.now(UTC)
    appointments = sa.table('appointments', sa.column('id'), sa.column('patient_id'), sa.column('therapist_id'))
    events = sa.table('appointment_events', sa.column('appointment_id'), sa.column('user_id'), sa.column('note'))
    audits = sa.table('audit_events', sa.column('entity'), sa.column('entity_id'), sa.column('action'),
                      sa.column('user_id'))
    users = sa.table('users', sa.column('id'), sa.column('role'))
    enrollments = sa.table('enrollments', sa.column('patient_id'), sa.column('status'))
    care_team = sa.table('care_team', sa.column('patient_id'), sa.column('therapist_id'),
                         sa.column('added_at', scheduler.models.types.UTCDateTime()), sa.column('added_by'))
    staff = sa.select(users.c.id).where(users.c.role.in_(STAFF))
    by_staff = (sa.exists().where(events.c.appointment_id == appointments.c.id, events.c.note == 'booked',
                                  events.c.user_id.in_(staff))
                | sa.exists().where(audits.c.entity == 'appointment', audits.c.action == 'create',
                                    audits.c.entity_id == appointments.c.id, audits.c.user_id.in_(staff)))
    pairs = (sa.select(appointments.c.patient_id, appointments.c.therapist_id,
                       sa.literal(now, scheduler.models.types.UTCDateTime()),
                       sa.cast(sa.null(), sa.Integer()))
             .where(by_staff).distinct())
    bind.execute(care_team.insert().from_select(['patient_id', 'therapist_id', 'added_at', 'added_by'], pairs))

    def count(query):
        return bind.execute(query).scalar() or 0

    total = count(sa.select(sa.func.count()).select_from(appointments))
    staff_made = count(sa.select(sa.func.count()).select_from(appointments).where(by_staff))
    rows = count(sa.select(sa.func.count()).select_from(care_team))
    patients = count(sa.select(sa.func.count(sa.distinct(care_team.c.patient_id))))
    in_groups = count(sa.select(sa.func.count(sa.distinct(enrollments.c.patient_id)))
                      .where(enrollments.c.status.in_(('enrolled', 'waitlisted'))))
    # Counts only: this runs on real clinics' data.
    print(f"0003 care teams: {rows} patient-therapist pairs for {patients} patients from "
          f"{staff_made} bookings by coordinators or admins; {total - staff_made} other bookings "
          f"granted nothing; {in_groups} patients are seen by their groups' facilitators")


def _token_expiry():
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expires_at', scheduler.models.types.UTCDateTime(timezone=True),
                                      nullable=True))
    tokens = sa.table('api_tokens', sa.column('expires_at', scheduler.models.types.UTCDateTime()))
    expires = datetime.now(UTC) + timedelta(days=TOKEN_DAYS)
    updated = op.get_bind().execute(tokens.update().values(expires_at=expires)).rowcount
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.alter_column('expires_at', nullable=False)
    print(f"0003 tokens: {max(updated, 0)} existing API tokens now expire on {expires:%Y-%m-%d}")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_truncate ON audit_events")
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_column('expires_at')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('session_version')
    with op.batch_alter_table('seen_signatures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_seen_signatures_seen_at'))
    op.drop_table('seen_signatures')
    with op.batch_alter_table('care_team', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_care_team_therapist_id'))
    op.drop_table('care_team')
