"""Recurring groups: the series, its dated occurrences, enrollments and attendance."""
from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from scheduler.extensions import db
from scheduler.models.enums import (
    ATTENDANCE_STATUSES,
    ENROLLMENT_STATUSES,
    EnrollmentStatus,
    sql_in,
)
from scheduler.models.types import UTCDateTime

if TYPE_CHECKING:  # resolved by name through the registry at run time
    from scheduler.models.calendar import Therapist
    from scheduler.models.patients import Patient


class GroupSeries(db.Model):
    """A recurring group session: local wall time + IANA zone + RRULE."""

    __tablename__ = "group_series"
    __table_args__ = (
        CheckConstraint("capacity > 0", name="capacity"),
        CheckConstraint("duration_minutes > 0", name="duration"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    facilitator_id: Mapped[int] = mapped_column(ForeignKey("therapists.id"), index=True)
    capacity: Mapped[int] = mapped_column(Integer)
    location: Mapped[str | None] = mapped_column(String(200))
    duration_minutes: Mapped[int] = mapped_column(Integer)
    timezone: Mapped[str] = mapped_column(String(64))
    local_start: Mapped[datetime] = mapped_column(db.DateTime)  # naive local wall time of the first one
    rrule: Mapped[str | None] = mapped_column(String(500))
    materialized_until: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    facilitator: Mapped[Therapist] = relationship()


class Occurrence(db.Model):
    """One dated meeting of a group series, materialised ahead over a rolling horizon."""

    __tablename__ = "occurrences"
    __table_args__ = (
        UniqueConstraint("group_id", "local_date"),
        CheckConstraint("end_dt > start_dt", name="order"),
        Index("ix_occurrences_start", "start_dt"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("group_series.id"))
    local_date: Mapped[date] = mapped_column(Date)
    start_dt: Mapped[datetime] = mapped_column(UTCDateTime)
    end_dt: Mapped[datetime] = mapped_column(UTCDateTime)
    cancelled: Mapped[bool] = mapped_column(Boolean, default=False)

    group: Mapped[GroupSeries] = relationship()


_LIVE = f"status <> '{EnrollmentStatus.DROPPED}'"


class Enrollment(db.Model):
    """A patient's place in a group: enrolled, waitlisted (ordered by waitlisted_at) or dropped."""

    __tablename__ = "enrollments"
    __table_args__ = (
        CheckConstraint(sql_in("status", ENROLLMENT_STATUSES), name="status"),
        # One live enrollment per patient and group; a dropped one may be followed by a new one.
        Index(
            "uq_enrollments_live", "group_id", "patient_id", unique=True,
            sqlite_where=text(_LIVE), postgresql_where=text(_LIVE),
        ),
        Index("ix_enrollments_group_status", "group_id", "status"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("group_series.id"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    status: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    waitlisted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    enrolled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    dropped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    group: Mapped[GroupSeries] = relationship()
    patient: Mapped[Patient] = relationship()


class Attendance(db.Model):
    """A patient's confirmation of, and attendance at, one group occurrence."""

    __tablename__ = "attendance"
    __table_args__ = (
        UniqueConstraint("occurrence_id", "patient_id"),
        CheckConstraint(f"status IS NULL OR {sql_in('status', ATTENDANCE_STATUSES)}", name="status"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    occurrence_id: Mapped[int] = mapped_column(ForeignKey("occurrences.id"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    status: Mapped[str | None] = mapped_column(String(20))
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    occurrence: Mapped[Occurrence] = relationship()
