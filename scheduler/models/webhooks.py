"""Webhook signatures already seen: one row per signed request, so none is acted on twice."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from scheduler.extensions import db
from scheduler.models.types import UTCDateTime


class SeenSignature(db.Model):
    """A Twilio signature (its SHA-256) first seen at `seen_at`; pruned after the replay window.

    Kept in the database, not in memory, so every web process on every machine shares it.
    """

    __tablename__ = "seen_signatures"
    signature_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
