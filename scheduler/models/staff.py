"""Staff who sign in, their API tokens, and the append-only audit trail."""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from scheduler.extensions import db
from scheduler.models.enums import (
    ROLES,
    sql_in,
)
from scheduler.models.types import UTCDateTime

if TYPE_CHECKING:  # resolved by name through the registry at run time
    from scheduler.models.calendar import Therapist


class User(db.Model):
    """A staff member who signs in: admin, coordinator or therapist."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint(sql_in("role", ROLES), name="role"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str | None] = mapped_column(String(200))  # None for users made before names were asked
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    therapist_id: Mapped[int | None] = mapped_column(ForeignKey("therapists.id"), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Part of every staff-page session (core.auth.session_id): bumping it ends them all at once.
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    therapist: Mapped[Therapist | None] = relationship()


class ApiToken(db.Model):
    """A bearer token; only its SHA-256 is kept."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class StaffSession(db.Model):
    """A signed-in (or signing-in) browser's session, held here: its cookie carries only a random key.

    `key_hash` is the key's SHA-256, so a copy of this table opens no session. `data` is what Flask
    keeps in `session` (Flask-Login's user id, flashes, the CSRF secret, one-time form ids).
    """

    __tablename__ = "staff_sessions"
    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    # Which user it is signed in as (None before sign-in): ending all of a user's sessions at once.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    data: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class AuditEvent(db.Model):
    """Append-only: who read or changed which record, and when. Holds ids, never patient data."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_entity", "entity", "entity_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(20))  # read, create, update, delete
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[int | None] = mapped_column(Integer)
    route: Mapped[str | None] = mapped_column(String(200))  # the URL rule, not the URL
