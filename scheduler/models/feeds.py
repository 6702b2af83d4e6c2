"""Therapists' private calendar feeds and the clinic options admins change on /admin."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from scheduler.extensions import db
from scheduler.models.types import UTCDateTime


class CalendarFeed(db.Model):
    """A feed link's secret, kept as its SHA-256 only; a new link revokes the therapist's old one."""

    __tablename__ = "calendar_feeds"
    __table_args__ = (
        # At most one live link per therapist, whatever two requests do at once.
        Index("uq_calendar_feeds_live_therapist", "therapist_id", unique=True,
              sqlite_where=db.text("revoked_at IS NULL"), postgresql_where=db.text("revoked_at IS NULL")),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    therapist_id: Mapped[int] = mapped_column(ForeignKey("therapists.id"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ClinicOption(db.Model):
    """A clinic-wide choice an admin made on /admin; without a row the environment's default holds."""

    __tablename__ = "clinic_options"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
