"""Discharged patients, their discharges, and their care teams."""
from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from scheduler.extensions import db
from scheduler.models.enums import LANGUAGES, PLAN_END_REASONS, Language, sql_in
from scheduler.models.types import UTCDateTime

if TYPE_CHECKING:  # resolved by name through the registry at run time
    from scheduler.models.calendar import Therapist


class Patient(db.Model):
    """A discharged person who may receive texts when they consented."""

    __tablename__ = "patients"
    __table_args__ = (
        CheckConstraint(sql_in("language", LANGUAGES), name="language"),
        # PostgreSQL also has trigram (pg_trgm) indexes on lower(name) and phone for the search's
        # `LIKE '%q%'`: migration 0017 alone, as SQLite cannot hold them (tests/models/test_schema.py).
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str] = mapped_column(String(20), unique=True)  # E.164; inbound texts map to one patient
    timezone: Mapped[str] = mapped_column(String(64))
    # Optional: tells namesakes apart where staff pick a patient (and in the duplicate check).
    date_of_birth: Mapped[date | None] = mapped_column(Date)
    language: Mapped[str] = mapped_column(String(2), default=Language.EN)
    sms_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    consent_source: Mapped[str | None] = mapped_column(String(100))
    opted_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    discharges: Mapped[list[Discharge]] = relationship(
        cascade="all, delete-orphan", order_by="Discharge.discharge_date"
    )
    care_team: Mapped[list[Therapist]] = relationship(
        secondary="care_team", order_by="Therapist.id", viewonly=True
    )

    @property
    def therapist_ids(self) -> list[int]:
        """The therapists a coordinator or admin put in charge of this patient (see core.access)."""
        return [t.id for t in self.care_team]

    @property
    def can_text(self) -> bool:
        return self.sms_consent and self.opted_out_at is None


class Discharge(db.Model):
    """One discharge from detox and the aftercare plan it starts; reports count these, not people.

    The plan runs plan_days from the discharge date, at a cadence of individual sessions and
    group meetings a week; it ends early when ended_at is set (aftercare.plans says when).
    """

    __tablename__ = "discharges"
    __table_args__ = (
        UniqueConstraint("patient_id", "discharge_date"),
        CheckConstraint("plan_days BETWEEN 1 AND 365", name="plan_days"),
        CheckConstraint("individual_per_week BETWEEN 0 AND 7", name="individual_per_week"),
        CheckConstraint("groups_per_week BETWEEN 0 AND 7", name="groups_per_week"),
        CheckConstraint(f"ended_reason IS NULL OR {sql_in('ended_reason', PLAN_END_REASONS)}",
                        name="ended_reason"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    discharge_date: Mapped[date] = mapped_column(Date, index=True)
    plan_days: Mapped[int] = mapped_column(Integer, default=90, server_default="90")
    individual_per_week: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    groups_per_week: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_reason: Mapped[str | None] = mapped_column(String(20))


class CareTeamMember(db.Model):
    """A therapist on a patient's care team: they may see and book this patient.

    Only coordinators and admins add members (directly, or by booking the patient with the
    therapist); nothing a therapist does alone puts them here.
    """

    __tablename__ = "care_team"
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), primary_key=True)
    therapist_id: Mapped[int] = mapped_column(ForeignKey("therapists.id"), primary_key=True, index=True)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime)
    added_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: the 0003 migration
