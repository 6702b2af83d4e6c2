"""Staff users, roles, API bearer tokens (only a token's hash is stored) and staff-page sessions.

A token works until it expires (`days` when issued, 90 by default) or is revoked; every
token of a user is revoked at once (revoke_tokens). Deactivating a user or resetting their
password ends their staff-page sessions (end_sessions): their rows are deleted, and the
`session_version` every session carries (session_id) is bumped, so user_for_session also
refuses a session a request still in flight would save.
"""
from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from scheduler.core import sessions
from scheduler.core.clock import now as clock_now
from scheduler.errors import Conflict, Invalid, NotFound
from scheduler.models import ROLES, ApiToken, Therapist, User

TOKEN_DAYS = 90
MAX_TOKEN_DAYS = 3660


def hash_token(token: str) -> str:
    """SHA-256 hex of a token; tokens are random, so no salt or slow hash is needed."""
    return hashlib.sha256(token.encode()).hexdigest()


# name@domain.tld: no spaces, one @, a dotted domain of letters, digits and hyphens (RFC 5321's
# lengths), the subset of addresses people have; it catches the typos ("ana@clinic", "ana clinic.org").
_LOCAL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")


def checked_email(raw: str | None) -> str:
    """An email address as stored (trimmed, lower case), or Invalid beside the Email field."""
    email = (raw or "").strip().lower()
    local, at, domain = email.rpartition("@")
    labels = domain.split(".")
    if not (at and len(email) <= 254 and len(local) <= 64 and _LOCAL.match(local) and len(labels) >= 2
            and all(_LABEL.match(label) for label in labels) and labels[-1].isalpha() and len(labels[-1]) >= 2):
        raise Invalid({"email": "must be an email address such as name@clinic.org"})
    return email


def checked_name(raw: str | None) -> str | None:
    """A person's name as shown in the staff list (trimmed), None when not given."""
    name = " ".join((raw or "").split())
    if len(name) > 200 or any(not ch.isprintable() for ch in name):
        raise Invalid({"name": "must be at most 200 printable characters"})
    return name or None


def create_user(session: Session, email: str, role: str, now: datetime,
                password: str | None = None, therapist_id: int | None = None, name: str | None = None) -> User:
    """Add a staff user; a therapist user is linked to a therapist record."""
    email = checked_email(email)
    name = checked_name(name)
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
    user = User(email=email, name=name, role=role, therapist_id=therapist_id if role == "therapist" else None,
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


def end_sessions(session: Session, user: User) -> None:
    """End every staff-page session of `user`, on every browser, at once."""
    user.session_version = (user.session_version or 0) + 1
    sessions.end_all(session, user.id)


def deactivate(session: Session, user: User, now: datetime) -> list[int]:
    """The user can no longer sign in or call the API: tokens revoked, sessions ended. Returns token ids."""
    user.active = False
    end_sessions(session, user)
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


# --- what an admin changes (the staff pages' admin area) ----------------------------------

MIN_PASSWORD = 10


def get_user(session: Session, user_id: int) -> User:
    """The user, or 404."""
    user = session.get(User, user_id, with_for_update=True)
    if user is None:
        raise NotFound("user not found")
    return user


def _keep_an_admin(session: Session, user: User) -> None:
    """The clinic must never be left without an active admin to undo a mistake."""
    others = session.scalar(select(func.count()).select_from(User).where(
        User.role == "admin", User.active.is_(True), User.id != user.id))
    if user.role == "admin" and user.active and not others:
        raise Conflict("this is the only active admin: make another admin first", field="role")


def set_role(session: Session, user: User, role: str, therapist_id: int | None = None) -> None:
    """Change a user's role; a therapist user is linked to a therapist record."""
    if role not in ROLES:
        raise Invalid({"role": f"must be one of: {', '.join(ROLES)}"})
    if role == user.role and (role != "therapist" or therapist_id in (None, user.therapist_id)):
        return
    if role != "admin":
        _keep_an_admin(session, user)
    if role == "therapist":
        if therapist_id is None or session.get(Therapist, therapist_id) is None:
            raise Invalid({"therapist": "choose the therapist this user is"})
        holder = session.scalar(select(User.id).where(User.therapist_id == therapist_id, User.id != user.id))
        if holder is not None:
            raise Conflict("that therapist already has a user", field="therapist")
    user.role, user.therapist_id = role, therapist_id if role == "therapist" else None
    session.flush()


def set_active(session: Session, user: User, active: bool, now: datetime) -> int:
    """Deactivate (sessions and API tokens stop at once) or reactivate; returns tokens revoked."""
    if active:
        user.active = True
        session.flush()
        return 0
    _keep_an_admin(session, user)
    return len(deactivate(session, user, now))


def set_password(session: Session, user: User, password: str, *, now: datetime | None = None,
                 revoke_api_tokens: bool = False) -> list[int]:
    """A new password; every session of the user ends (whoever knew the old one is signed out).

    With `revoke_api_tokens` their API tokens are revoked too. Returns the token ids revoked.
    """
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise Invalid({"password": f"must be at least {MIN_PASSWORD} characters"})
    if len(password) > 200:
        raise Invalid({"password": "must be at most 200 characters"})
    user.password_hash = generate_password_hash(password)
    end_sessions(session, user)
    revoked = revoke_tokens(session, user, now or clock_now()) if revoke_api_tokens else []
    session.flush()
    return revoked


def revoke_token(session: Session, token_id: int, now: datetime) -> ApiToken:
    """Revoke one API token (again is harmless); 404 when there is none."""
    token = session.get(ApiToken, token_id, with_for_update=True)
    if token is None:
        raise NotFound("token not found")
    if token.revoked_at is None:
        token.revoked_at = now
        session.flush()
    return token
