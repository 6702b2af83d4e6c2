"""What an admin changes about staff: roles, deactivation, passwords, API tokens."""
from __future__ import annotations

import pytest
from sqlalchemy import select
from werkzeug.security import check_password_hash

from scheduler.core import auth
from scheduler.errors import Conflict, Invalid
from scheduler.models import ApiToken
from tests.support import NOW


@pytest.fixture
def admin(ctx):
    user = auth.create_user(ctx, "boss@clinic.test", "admin", NOW, password="correct horse")
    ctx.commit()
    return user


def test_the_only_admin_cannot_be_demoted_or_deactivated(ctx, admin):
    with pytest.raises(Conflict, match="only active admin"):
        auth.set_role(ctx, admin, "coordinator")
    with pytest.raises(Conflict, match="only active admin"):
        auth.set_active(ctx, admin, False, NOW)
    other = auth.create_user(ctx, "second@clinic.test", "admin", NOW)
    auth.set_role(ctx, admin, "coordinator")
    assert admin.role == "coordinator" and other.role == "admin"


def test_deactivating_revokes_tokens(ctx, admin):
    coordinator = auth.create_user(ctx, "c@clinic.test", "coordinator", NOW)
    token = auth.issue_token(ctx, coordinator, NOW)
    assert auth.user_for_token(ctx, token, NOW) is coordinator
    assert auth.set_active(ctx, coordinator, False, NOW) == 1
    ctx.commit()
    assert auth.user_for_token(ctx, token, NOW) is None
    auth.set_active(ctx, coordinator, True, NOW)
    assert coordinator.active and auth.user_for_token(ctx, token, NOW) is None  # tokens stay revoked


@pytest.fixture
def therapist(make_therapist):
    return make_therapist(email="dana@clinic.test")


def test_a_therapist_role_needs_a_free_therapist_record(therapist, ctx, admin):
    coordinator = auth.create_user(ctx, "c@clinic.test", "coordinator", NOW)
    with pytest.raises(Invalid):
        auth.set_role(ctx, coordinator, "therapist")
    auth.set_role(ctx, coordinator, "therapist", therapist)
    assert coordinator.therapist_id == therapist
    other = auth.create_user(ctx, "o@clinic.test", "coordinator", NOW)
    with pytest.raises(Conflict):
        auth.set_role(ctx, other, "therapist", therapist)
    auth.set_role(ctx, coordinator, "coordinator")
    assert coordinator.therapist_id is None


def test_password_reset(ctx, admin):
    with pytest.raises(Invalid):
        auth.set_password(ctx, admin, "short")
    auth.set_password(ctx, admin, "a much longer one")
    assert check_password_hash(admin.password_hash, "a much longer one")


def test_a_password_reset_ends_every_session_and_may_revoke_tokens(ctx, admin):
    from datetime import timedelta

    from scheduler.core import sessions
    from scheduler.models import StaffSession

    keys = [sessions.create(ctx, {"_user_id": auth.session_id(admin)}, NOW, timedelta(minutes=30))
            for _ in range(2)]
    other = sessions.create(ctx, {"csrf_token": "x"}, NOW, timedelta(minutes=30))
    token = auth.issue_token(ctx, admin, NOW)
    version = admin.session_version
    assert auth.set_password(ctx, admin, "a much longer one", now=NOW) == []
    assert all(sessions.load(ctx, key, NOW, timedelta(minutes=30)) is None for key in keys)
    assert auth.user_for_session(ctx, f"{admin.id}:{version}") is None  # a request in flight too
    assert ctx.query(StaffSession).count() == 1 and sessions.load(ctx, other, NOW, timedelta(minutes=30))
    assert auth.user_for_token(ctx, token, NOW) is not None
    assert len(auth.set_password(ctx, admin, "yet another long one", now=NOW, revoke_api_tokens=True)) == 1
    assert auth.user_for_token(ctx, token, NOW) is None


def test_revoke_one_token(ctx, admin):
    token = auth.issue_token(ctx, admin, NOW)
    row_id = ctx.scalars(select(ApiToken.id)).one()
    auth.revoke_token(ctx, row_id, NOW)
    auth.revoke_token(ctx, row_id, NOW)
    assert auth.user_for_token(ctx, token) is None
