"""Staff users, roles, API bearer tokens (only a token's hash is stored) and staff-page sessions.

A token works until it expires (`days` when issued, 90 by default) or is revoked; every
token of a user is revoked at once (revoke_tokens), and deactivating a user also ends their
staff-page sessions: a session carries the user's `session_version` (session_id), which
deactivation bumps, so user_for_session refuses every session made before.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from scheduler.core.clock import now as clock_now
from scheduler.errors import Conflict, Invalid
from scheduler.models import ROLES, ApiToken, Therapist, User

TOKEN_DAYS = 90
MAX_TOKEN_DAYS = 3660


def hash_token(token: str) -> str:
    """SHA-256 hex of a token; tokens are random, so no salt or slow hash is needed."""
    return hashlib.sha256(token.encode()).hexdigest()


def create_user(session: Session, email: str, role: str, now: datetime,
                password: str | None = None, therapist_id: int | None = None) -> User:
    """Add a staff user; a therapist user is linked to a therapist record."""
    email = (email or "").strip().lower()
    if "@" not in email or len(email) > 254:
        raise Invalid({"email": "must be an email address"})
    if role not in ROLES:
        raise Invalid({"role": f"must be one of: {', '.join(ROLES)}"})
    if session.scalar(select(User).where(User.email == email)):
        raise Conflict("a user with this email already exists", field="email")
    if role == "therapist":
        if therapist_id is None:
            therapist = session.scalar(select(Therapist).where(Therapist.email == email))
            if therapist is None:
                raise Invalid({"therapist": "no therapist record has this email; create it first"})
            therapist_id = therapist.id
        if session.scalar(select(User).where(User.therapist_id == therapist_id)):
            raise Conflict("that therapist already has a user", field="therapist")
    user = User(email=email, role=role, therapist_id=therapist_id if role == "therapist" else None,
                password_hash=generate_password_hash(password) if password else None,
                active=True, created_at=now, session_version=0)
    session.add(user)
    session.flush()
    return user


def find_user(session: Session, email: str) -> User | None:
    """The user with this email (any case), or None."""
    return session.scalar(select(User).where(User.email == (email or "").strip().lower()))


def issue_token(session: Session, user: User, now: datetime, days: int = TOKEN_DAYS) -> str:
    """A new bearer token for `user`, valid `days` days; the caller shows it once, we keep its hash."""
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_TOKEN_DAYS:
        raise Invalid({"days": f"must be a whole number of days from 1 to {MAX_TOKEN_DAYS}"})
    token = secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, token_hash=hash_token(token), created_at=now,
                         expires_at=now + timedelta(days=days)))
    session.flush()
    return token


def revoke_tokens(session: Session, user: User, now: datetime) -> list[int]:
    """End every live API token of `user` at once; returns the ids revoked."""
    ids = list(session.scalars(select(ApiToken.id).where(ApiToken.user_id == user.id,
                                                         ApiToken.revoked_at.is_(None))))
    if ids:
        session.execute(update(ApiToken).where(ApiToken.id.in_(ids)).values(revoked_at=now))
    return ids


def deactivate(session: Session, user: User, now: datetime) -> list[int]:
    """The user can no longer sign in or call the API: tokens revoked, sessions ended. Returns token ids."""
    user.active = False
    user.session_version = (user.session_version or 0) + 1
    revoked = revoke_tokens(session, user, now)
    session.flush()
    return revoked


# Built once: every API request runs it, and building it costs more than the lookup.
_BY_TOKEN = select(User).join(ApiToken, ApiToken.user_id == User.id).where(
    ApiToken.token_hash == bindparam("token_hash"), ApiToken.revoked_at.is_(None),
    ApiToken.expires_at > bindparam("now"), User.active.is_(True))


def user_for_token(session: Session, token: str, now: datetime | None = None) -> User | None:
    """The active user holding this unrevoked, unexpired token, or None."""
    return session.scalar(_BY_TOKEN, {"token_hash": hash_token(token), "now": now or clock_now()})


def session_id(user: User) -> str:
    """What a staff-page session stores for its user (Flask-Login's get_id): id and session version."""
    return f"{user.id}:{user.session_version or 0}"


def user_for_session(session: Session, value: str | None) -> User | None:
    """The active user a session id names, or None when it is malformed, stale or deactivated.

    Flask-Login's user_loader: `login_manager.user_loader(lambda v: user_for_session(db.session, v))`.
    """
    user_id, _, version = (value or "").partition(":")
    if not (user_id.isdigit() and version.isdigit()):
        return None
    user = session.get(User, int(user_id))
    if user is None or not user.active or (user.session_version or 0) != int(version):
        return None
    return user
