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


def test_revoke_one_token(ctx, admin):
    token = auth.issue_token(ctx, admin, NOW)
    row_id = ctx.scalars(select(ApiToken.id)).one()
    auth.revoke_token(ctx, row_id, NOW)
    auth.revoke_token(ctx, row_id, NOW)
    assert auth.user_for_token(ctx, token) is None
