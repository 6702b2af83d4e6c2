"""Staff users, roles and API bearer tokens (only a token's hash is stored)."""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from scheduler.errors import Conflict, Invalid
from scheduler.models import ROLES, ApiToken, Therapist, User


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
                active=True, created_at=now)
    session.add(user)
    session.flush()
    return user


def issue_token(session: Session, user: User, now: datetime) -> str:
    """A new bearer token for `user`; the caller shows it once, we keep its hash."""
    token = secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, token_hash=hash_token(token), created_at=now))
    session.flush()
    return token


# Built once: every API request runs it, and building it costs more than the lookup.
_BY_TOKEN = select(User).join(ApiToken, ApiToken.user_id == User.id).where(
    ApiToken.token_hash == bindparam("token_hash"), ApiToken.revoked_at.is_(None), User.active.is_(True))


def user_for_token(session: Session, token: str) -> User | None:
    """The active user holding this unrevoked token, or None."""
    return session.scalar(_BY_TOKEN, {"token_hash": hash_token(token)})
