"""Texts in and out, and follow-up tasks for staff."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from scheduler.extensions import db
from scheduler.models.enums import (
    DIRECTIONS,
    MESSAGE_KINDS,
    MESSAGE_STATUSES,
    TASK_KINDS,
    Direction,
    MessageStatus,
    sql_in,
)
from scheduler.models.types import UTCDateTime


class Message(db.Model):
    """One text, out or in. Outbound rows are written with the change that causes them."""

    __tablename__ = "messages"
    __table_args__ = (
        CheckConstraint(sql_in("status", MESSAGE_STATUSES), name="status"),
        CheckConstraint(sql_in("direction", DIRECTIONS), name="direction"),
        CheckConstraint(sql_in("kind", MESSAGE_KINDS), name="kind"),
        Index("ix_messages_due", "status", "due_at"),
        Index("ix_messages_patient", "patient_id", "id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"))
    direction: Mapped[str] = mapped_column(String(3), default=Direction.OUT)
    kind: Mapped[str] = mapped_column(String(30))
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointments.id"), index=True)
    occurrence_id: Mapped[int | None] = mapped_column(ForeignKey("occurrences.id"), index=True)
    enrollment_id: Mapped[int | None] = mapped_column(ForeignKey("enrollments.id"), index=True)
    session_start_dt: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the time the text names
    offset_minutes: Mapped[int | None] = mapped_column(Integer)  # reminders: lead time
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20), default=MessageStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(80))  # Worker.id of the claim's owner
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
    # Typed by staff on the patient's page (DEMO_REPLIES), or the answer to such a text: no phone took part.
    simulated: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    def note(self, status: str, now: datetime, detail: str | None = None) -> None:
        """Append a status change to the history (a new list, so the JSON column is saved)."""
        entry = {"status": status, "at": now.isoformat()}
        if detail:
            entry["detail"] = detail
        self.history = [*(self.history or []), entry]


class Task(db.Model):
    """A follow-up for staff: a reschedule request, an opt-out, a reply nobody understood."""

    __tablename__ = "tasks"
    __table_args__ = (
        CheckConstraint(sql_in("kind", TASK_KINDS), name="kind"),
        # A follow-up is raised once per cause (aftercare.followups); NULL causes never clash.
        UniqueConstraint("kind", "cause"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointments.id"))
    detail: Mapped[str | None] = mapped_column(String(300))
    cause: Mapped[str | None] = mapped_column(String(100))  # e.g. "discharge:7", "appointment:12"
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class TextTemplate(db.Model):
    """An admin's wording for one kind of text in one language, used instead of the built-in one.

    The body names its blanks {clinic}, {when} and {phone}; messaging.templates checks it
    against the texting rules before it is stored, and again each time it is used.
    """

    __tablename__ = "text_templates"
    __table_args__ = (UniqueConstraint("kind", "language"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    language: Mapped[str] = mapped_column(String(2))
    body: Mapped[str] = mapped_column(String(500))
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class OptedOutNumber(db.Model):
    """A number that texted STOP (or that the carrier reports as opted out), patient or not.

    A patient registered later with this number starts opted out: only their START lifts it.
    """

    __tablename__ = "opted_out_numbers"
    phone: Mapped[str] = mapped_column(String(20), primary_key=True)  # E.164
    opted_out_at: Mapped[datetime] = mapped_column(UTCDateTime)


class EarlyStatus(db.Model):
    """A delivery status callback that arrived before its send was recorded; applied once it is."""

    __tablename__ = "early_statuses"
    id: Mapped[int] = mapped_column(primary_key=True)
    twilio_sid: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(20))
    error_code: Mapped[int | None] = mapped_column(Integer)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Worker(db.Model):
    """A running dispatcher's heartbeat; its claims are taken over once it stops beating."""

    __tablename__ = "workers"
    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
