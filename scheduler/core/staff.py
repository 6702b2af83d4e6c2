"""What the admin page reads about staff: the users and their API tokens (ids, emails, dates)."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduler.models import ApiToken, User


def users(session: Session) -> list[User]:
    """Every staff user, by email."""
    return list(session.scalars(select(User).order_by(User.email)))


def tokens(session: Session, limit: int = 100) -> list[tuple[ApiToken, str]]:
    """API tokens with their holder's email: live ones first, newest first."""
    return [tuple(row) for row in session.execute(
        select(ApiToken, User.email).join(User, User.id == ApiToken.user_id)
        .order_by(ApiToken.revoked_at.is_not(None), ApiToken.created_at.desc()).limit(limit))]


def active_user(session: Session, user_id: int) -> User | None:
    """The user, if they exist and may sign in."""
    user = session.get(User, user_id)
    return user if user is not None and user.active else None
