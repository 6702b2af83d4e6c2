"""Therapists, their weekly hours and time off, and individual appointments."""
from __future__ import annotations

from datetime import datetime, time
from typing import TYPE_CHECKING

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Time,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from scheduler.extensions import db
from scheduler.models.enums import (
    ACTIVE_APPOINTMENT_STATUSES,
    APPOINTMENT_STATUSES,
    AppointmentStatus,
    sql_in,
)
from scheduler.models.types import UTCDateTime

if TYPE_CHECKING:  # resolved by name through the registry at run time
    from scheduler.models.patients import Patient


class Therapist(db.Model):
    """A clinician with weekly hours in their own time zone."""

    __tablename__ = "therapists"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    timezone: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    rules: Mapped[list[AvailabilityRule]] = relationship(
        cascade="all, delete-orphan", order_by="(AvailabilityRule.weekday, AvailabilityRule.start_time)"
    )
    exceptions: Mapped[list[AvailabilityException]] = relationship(
        cascade="all, delete-orphan", order_by="AvailabilityException.start_dt"
    )


class AvailabilityRule(db.Model):
    """Weekly working hours: a weekday (Mon=0) and a local start and end."""

    __tablename__ = "availability_rules"
    __table_args__ = (
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday"),
        # An end of 00:00 is 24:00, midnight ending the day (an end before the start is otherwise
        # impossible). `< '00:00:01'` reads the same on both engines' time storage.
        CheckConstraint("end_time > start_time OR end_time < '00:00:01'", name="order"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    therapist_id: Mapped[int] = mapped_column(ForeignKey("therapists.id"), index=True)
    weekday: Mapped[int] = mapped_column(Integer)
    start_time: Mapped[time] = mapped_column(Time)
    end_time: Mapped[time] = mapped_column(Time)


class AvailabilityException(db.Model):
    """Time off or other unavailability: no booking may touch it."""

    __tablename__ = "availability_exceptions"
    __table_args__ = (CheckConstraint("end_dt > start_dt", name="order"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    therapist_id: Mapped[int] = mapped_column(ForeignKey("therapists.id"), index=True)
    start_dt: Mapped[datetime] = mapped_column(UTCDateTime)
    end_dt: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str | None] = mapped_column(String(200))


class AppointmentSeries(db.Model):
    """Weekly sessions booked together: one booking text, and "this and later" when cancelling."""

    __tablename__ = "appointment_series"
    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Appointment(db.Model):
    """An individual session between one therapist and one patient."""

    __tablename__ = "appointments"
    __table_args__ = (
        CheckConstraint("end_dt > start_dt", name="order"),
        CheckConstraint(sql_in("status", APPOINTMENT_STATUSES), name="status"),
        Index("ix_appointments_therapist_start", "therapist_id", "start_dt"),
        Index("ix_appointments_patient_start", "patient_id", "start_dt"),
        Index("ix_appointments_series", "series_id"),
        # The follow-up report's probe for a discharge's first attended session (migration 0017).
        Index("ix_appointments_attended", "patient_id", "start_dt",
              sqlite_where=text("status = 'attended'"), postgresql_where=text("status = 'attended'")),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    therapist_id: Mapped[int] = mapped_column(ForeignKey("therapists.id"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    start_dt: Mapped[datetime] = mapped_column(UTCDateTime)
    end_dt: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20), default=AppointmentStatus.SCHEDULED)
    cancel_reason: Mapped[str | None] = mapped_column(String(500))
    version: Mapped[int] = mapped_column(Integer, default=1)  # bumps on reschedule; keys its texts
    series_id: Mapped[int | None] = mapped_column(ForeignKey("appointment_series.id"))  # booked weekly
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    therapist: Mapped[Therapist] = relationship()
    patient: Mapped[Patient] = relationship()
    events: Mapped[list[AppointmentEvent]] = relationship(
        cascade="all, delete-orphan", order_by="AppointmentEvent.id"
    )

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_APPOINTMENT_STATUSES


class AppointmentEvent(db.Model):
    """Status history of an appointment: who changed what, when."""

    __tablename__ = "appointment_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    appointment_id: Mapped[int] = mapped_column(ForeignKey("appointments.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str | None] = mapped_column(String(500))
    start_dt: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_dt: Mapped[datetime | None] = mapped_column(UTCDateTime)
