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


class Direction(StrEnum):
    OUT = "out"
    IN = "in"


class SkipReason(StrEnum):
    """Why a text was never sent (messages.skip_reason); decided in messaging.dispatch.check."""

    NO_PATIENT = "no_patient"
    OPTED_OUT = "opted_out"
    NO_CONSENT = "no_consent"
    NOT_CANCELLED = "not_cancelled"  # a cancellation notice whose appointment is live again
    CANCELLED = "cancelled"
    SESSION_STARTED = "session_started"
    TIME_CHANGED = "time_changed"
    DROPPED = "dropped"
    NO_UPCOMING_SESSION = "no_upcoming_session"
    NO_SESSION = "no_session"
    STALE = "stale"
    QUIET_HOURS = "quiet_hours"
    UNRENDERABLE = "unrenderable"
    # A no-show outreach whose session is no longer missed, or after which a session was booked.
    NOT_MISSED = "not_missed"
    BOOKED_AGAIN = "booked_again"


class TaskKind(StrEnum):
    """What a staff follow-up is about (tasks.kind)."""

    RESCHEDULE_REQUEST = "reschedule_request"  # the patient texted R
    OPT_OUT = "opt_out"  # by reply or by the carrier: call them, they may have meant cancel
    CONSENT_NEEDED = "consent_needed"  # texted START with no consent on record
    UNRECOGNIZED_REPLY = "unrecognized_reply"
    SMS_FAILED = "sms_failed"
    NO_SHOW = "no_show"
    ATTENDANCE_MISSING = "attendance_missing"
    GROUP_CLASH = "group_clash"  # the facilitator is busy at a new group meeting
    WAITLIST_CLASH = "waitlist_clash"  # the next in line could not be promoted
    # Aftercare follow-ups (aftercare.followups), each raised once per cause (tasks.cause).
    NO_BOOKING_3D = "no_booking_3d"
    NO_ATTENDANCE_7D = "no_attendance_7d"
    MISSED_TWICE = "missed_twice"
    QUIET_14D = "quiet_14d"


class PlanEndReason(StrEnum):
    """Why an aftercare plan ended before its days ran out (discharges.ended_reason)."""

    READMITTED = "readmitted"  # also set when a newer discharge of the same person is recorded
    TRANSFERRED = "transferred"
    MOVED = "moved"
    DECLINED = "declined"
    DIED = "died"
    OTHER = "other"


class Language(StrEnum):
    """Languages texts are written in (messaging.texts has one template table per language)."""

    EN = "en"
    ES = "es"


ROLES = tuple(Role)
APPOINTMENT_STATUSES = tuple(AppointmentStatus)
# An appointment that still holds its time and is still to happen.
ACTIVE_APPOINTMENT_STATUSES = (AppointmentStatus.SCHEDULED, AppointmentStatus.CONFIRMED)
# An appointment that holds its time: no other session may overlap it. A (late) cancellation
# frees it. The PostgreSQL exclusion constraints repeat this list (tests/models/test_schema.py).
BUSY_APPOINTMENT_STATUSES = (*ACTIVE_APPOINTMENT_STATUSES, AppointmentStatus.ATTENDED, AppointmentStatus.NO_SHOW)
ATTENDANCE_STATUSES = (AppointmentStatus.ATTENDED, AppointmentStatus.NO_SHOW, AppointmentStatus.LATE_CANCELLED)
ENROLLMENT_STATUSES = tuple(EnrollmentStatus)
MESSAGE_STATUSES = tuple(MessageStatus)
DIRECTIONS = tuple(Direction)
TASK_KINDS = tuple(TaskKind)
PLAN_END_REASONS = tuple(PlanEndReason)
LANGUAGES = tuple(Language)


def sql_in(column: str, values) -> str:
    """The text of a CHECK constraint `column IN (...)` over an enum's values."""
    return f"{column} IN ({', '.join(repr(str(v)) for v in values)})"
