"""Discharged patients and their discharges."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from scheduler.core.timeutil import UTCDateTime
from scheduler.extensions import db
from scheduler.models.enums import LANGUAGES, Language, sql_in


class Patient(db.Model):
    """A discharged person who may receive texts when they consented."""

    __tablename__ = "patients"
    __table_args__ = (CheckConstraint(sql_in("language", LANGUAGES), name="language"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str] = mapped_column(String(20), unique=True)  # E.164; inbound texts map to one patient
    timezone: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(2), default=Language.EN)
    sms_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    consent_source: Mapped[str | None] = mapped_column(String(100))
    opted_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    discharges: Mapped[list[Discharge]] = relationship(
        cascade="all, delete-orphan", order_by="Discharge.discharge_date"
    )

    @property
    def can_text(self) -> bool:
        return self.sms_consent and self.opted_out_at is None


class Discharge(db.Model):
    """One discharge from detox; the follow-up report counts these, not people."""

    __tablename__ = "discharges"
    __table_args__ = (UniqueConstraint("patient_id", "discharge_date"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    discharge_date: Mapped[date] = mapped_column(Date, index=True)
