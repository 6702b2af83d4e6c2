"""The clinic's vocabularies: one list each, used by models, CHECK constraints, queries and schemas."""
from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    COORDINATOR = "coordinator"
    THERAPIST = "therapist"


class AppointmentStatus(StrEnum):
    SCHEDULED = "scheduled"
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"
    ATTENDED = "attended"
    NO_SHOW = "no_show"
    LATE_CANCELLED = "late_cancelled"


class EnrollmentStatus(StrEnum):
    ENROLLED = "enrolled"
    WAITLISTED = "waitlisted"
    DROPPED = "dropped"


class MessageStatus(StrEnum):
    """Outbound life: pending -> sending -> sent -> delivered / undelivered / failed; inbound: received."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    FAILED = "failed"
    SKIPPED = "skipped"
    WITHDRAWN = "withdrawn"
    RECEIVED = "received"


ROLES = tuple(Role)
APPOINTMENT_STATUSES = tuple(AppointmentStatus)
# An appointment that still holds its time and is still to happen.
ACTIVE_APPOINTMENT_STATUSES = (AppointmentStatus.SCHEDULED, AppointmentStatus.CONFIRMED)
ATTENDANCE_STATUSES = (AppointmentStatus.ATTENDED, AppointmentStatus.NO_SHOW, AppointmentStatus.LATE_CANCELLED)
ENROLLMENT_STATUSES = tuple(EnrollmentStatus)
MESSAGE_STATUSES = tuple(MessageStatus)


def sql_in(column: str, values) -> str:
    """The text of a CHECK constraint `column IN (...)` over an enum's values."""
    return f"{column} IN ({', '.join(repr(str(v)) for v in values)})"
