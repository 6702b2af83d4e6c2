"""Discharge files imported from another system: the file until it is imported, then its record.

One row per upload (the page) or per import (the command): who, the file's SHA-256, what the
run counted and the per-row report (row number, outcome, column, rule: never a value). The
file itself is kept only until its import ran, so that Import after Check only needs no second
upload.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from scheduler.extensions import db
from scheduler.models.enums import IMPORT_STATUSES, ImportStatus, sql_in
from scheduler.models.types import UTCDateTime


class DischargeImport(db.Model):
    """One discharge file and what importing (or checking) it did."""

    __tablename__ = "discharge_imports"
    __table_args__ = (CheckConstraint(sql_in("status", IMPORT_STATUSES), name="status"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)  # None: the command
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    file_hash: Mapped[str] = mapped_column(String(64))
    # Dropped once imported; deferred: the page polls the record every second, never the file.
    content: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    check_only: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(20), default=ImportStatus.PENDING)
    # When the thread last said it was alive: a run silent for long stopped with its process.
    beat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rows_total: Mapped[int] = mapped_column(Integer, default=0)
    rows_done: Mapped[int] = mapped_column(Integer, default=0)
    created: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    refused: Mapped[int] = mapped_column(Integer, default=0)
    report: Mapped[str | None] = mapped_column(Text)  # JSON [[row, outcome, column, rule], ...]
    error: Mapped[str | None] = mapped_column(String(200))
