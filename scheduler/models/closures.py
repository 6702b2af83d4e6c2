"""Days the clinic is closed (holidays), which admins keep on /admin and the group preview warns about."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from scheduler.extensions import db
from scheduler.models.types import UTCDateTime


class ClinicClosure(db.Model):
    """One closed calendar day, read in whatever zone a meeting is held (a wall date, not an instant)."""

    __tablename__ = "clinic_closures"
    id: Mapped[int] = mapped_column(primary_key=True)
    closed_on: Mapped[date] = mapped_column(Date, unique=True)
    note: Mapped[str] = mapped_column(String(60))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
