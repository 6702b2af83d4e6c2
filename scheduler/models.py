"""The clinic's records as typed SQLAlchemy models. Instants are UTCDateTime; wall times are local."""
from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Time,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .extensions import db
from .timeutil import UTCDateTime

ROLES = ("admin", "coordinator", "therapist")
APPOINTMENT_STATUSES = ("scheduled", "confirmed", "cancelled", "attended", "no_show", "late_cancelled")
ATTENDANCE_STATUSES = ("attended", "no_show", "late_cancelled")
ENROLLMENT_STATUSES = ("enrolled", "waitlisted", "dropped")
MESSAGE_STATUSES = (
    # outbound life: pending -> sending -> sent -> delivered / undelivered / failed
    "pending", "sending", "sent", "delivered", "undelivered", "failed", "skipped", "withdrawn",
    "received",  # inbound
)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class User(db.Model):
    """A staff member who signs in: admin, coordinator or therapist."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint(_in("role", ROLES), name="role"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    therapist_id: Mapped[int | None] = mapped_column(ForeignKey("therapists.id"), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    therapist: Mapped[Therapist | None] = relationship()


class ApiToken(db.Model):
    """A bearer token; only its SHA-256 is kept."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


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
        CheckConstraint("end_time > start_time", name="order"),
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


class Patient(db.Model):
    """A discharged person who may receive texts when they consented."""

    __tablename__ = "patients"
    __table_args__ = (CheckConstraint("language IN ('en', 'es')", name="language"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str] = mapped_column(String(20), unique=True)  # E.164; inbound texts map to one patient
    timezone: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(2), default="en")
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


class Appointment(db.Model):
    """An individual session between one therapist and one patient."""

    __tablename__ = "appointments"
    __table_args__ = (
        CheckConstraint("end_dt > start_dt", name="order"),
        CheckConstraint(_in("status", APPOINTMENT_STATUSES), name="status"),
        Index("ix_appointments_therapist_start", "therapist_id", "start_dt"),
        Index("ix_appointments_patient_start", "patient_id", "start_dt"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    therapist_id: Mapped[int] = mapped_column(ForeignKey("therapists.id"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    start_dt: Mapped[datetime] = mapped_column(UTCDateTime)
    end_dt: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20), default="scheduled")
    cancel_reason: Mapped[str | None] = mapped_column(String(500))
    version: Mapped[int] = mapped_column(Integer, default=1)  # bumps on reschedule; keys its texts
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    therapist: Mapped[Therapist] = relationship()
    patient: Mapped[Patient] = relationship()
    events: Mapped[list[AppointmentEvent]] = relationship(
        cascade="all, delete-orphan", order_by="AppointmentEvent.id"
    )

    @property
    def is_active(self) -> bool:
        return self.status in ("scheduled", "confirmed")


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


class Enrollment(db.Model):
    """A patient's place in a group: enrolled, waitlisted (ordered by waitlisted_at) or dropped."""

    __tablename__ = "enrollments"
    __table_args__ = (
        CheckConstraint(_in("status", ENROLLMENT_STATUSES), name="status"),
        # One live enrollment per patient and group; a dropped one may be followed by a new one.
        Index(
            "uq_enrollments_live", "group_id", "patient_id", unique=True,
            sqlite_where=text("status <> 'dropped'"), postgresql_where=text("status <> 'dropped'"),
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
        CheckConstraint(f"status IS NULL OR {_in('status', ATTENDANCE_STATUSES)}", name="status"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    occurrence_id: Mapped[int] = mapped_column(ForeignKey("occurrences.id"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    status: Mapped[str | None] = mapped_column(String(20))
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    occurrence: Mapped[Occurrence] = relationship()


class Message(db.Model):
    """One text, out or in. Outbound rows are written with the change that causes them."""

    __tablename__ = "messages"
    __table_args__ = (
        CheckConstraint(_in("status", MESSAGE_STATUSES), name="status"),
        CheckConstraint("direction IN ('out', 'in')", name="direction"),
        Index("ix_messages_due", "status", "due_at"),
        Index("ix_messages_patient", "patient_id", "id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"))
    direction: Mapped[str] = mapped_column(String(3), default="out")
    kind: Mapped[str] = mapped_column(String(30))
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointments.id"), index=True)
    occurrence_id: Mapped[int | None] = mapped_column(ForeignKey("occurrences.id"), index=True)
    enrollment_id: Mapped[int | None] = mapped_column(ForeignKey("enrollments.id"), index=True)
    session_start_dt: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the time the text names
    offset_minutes: Mapped[int | None] = mapped_column(Integer)  # reminders: lead time
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    send_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set when a send may have reached Twilio unrecorded (timeout, crash): ask Twilio before retrying.
    uncertain: Mapped[bool] = mapped_column(Boolean, default=False)
    to_phone: Mapped[str | None] = mapped_column(String(20))
    body: Mapped[str | None] = mapped_column(Text)
    twilio_sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    error_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(300))
    skip_reason: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    history: Mapped[list] = mapped_column(JSON, default=list)  # [{"status", "at", "detail"}]

    def note(self, status: str, now: datetime, detail: str | None = None) -> None:
        """Append a status change to the history (a new list, so the JSON column is saved)."""
        entry = {"status": status, "at": now.isoformat()}
        if detail:
            entry["detail"] = detail
        self.history = [*(self.history or []), entry]


class Task(db.Model):
    """A follow-up for staff: a reschedule request, an opt-out, a reply nobody understood."""

    __tablename__ = "tasks"
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointments.id"))
    detail: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


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
