"""One-time form ids claimed on the server: a second submit of the same form finds the first's result."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from scheduler.extensions import db
from scheduler.models.types import UTCDateTime


class FormSubmission(db.Model):
    """A form id a staff page handled, inserted in the same transaction as the change it made.

    The primary key makes a second, simultaneous submit of the same form wait for the first
    and then find it (core.once), instead of doing the work twice.
    """

    __tablename__ = "form_submissions"
    form_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    location: Mapped[str | None] = mapped_column(String(500))  # where the first submit led
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
