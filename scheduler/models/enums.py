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


class MessageKind(StrEnum):
    """What a text is (messages.kind): a notice or reminder we send, a patient's reply, or our answer to it."""

    # Sent through dispatch; the text kind of the same name (messaging.texts) words them.
    BOOKED = "booked"
    REMINDER = "reminder"
    RESCHEDULED = "rescheduled"
    CANCELLED = "cancelled"
    WAITLIST_PROMOTED = "waitlist_promoted"
    NO_SHOW_OUTREACH = "no_show_outreach"  # one invitation to book again after a missed session
    BOOKED_WEEKLY = "booked_weekly"  # one booking text for weekly sessions booked together
    CANCELLED_WEEKLY = "cancelled_weekly"  # one text for a series cancelled from one session on
    # A patient's text, by what it asks for (messaging.replies).
    CONFIRM = "confirm"
    RESCHEDULE = "reschedule"
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"
    OTHER = "other"
    # Our answer to it, sent in the webhook's TwiML: "reply_" and the text kind that words it.
    REPLY_CONFIRM_ACK = "reply_confirm_ack"
    REPLY_NOTHING_TO_CONFIRM = "reply_nothing_to_confirm"
    REPLY_RESCHEDULE_ACK = "reply_reschedule_ack"
    REPLY_OPT_OUT_ACK = "reply_opt_out_ack"
    REPLY_OPT_IN_ACK = "reply_opt_in_ack"
    REPLY_HELP = "reply_help"
    REPLY_UNRECOGNIZED = "reply_unrecognized"


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


class FollowUpReason(StrEnum):
    """Why a discharge was not followed up within 7 days, the first that applies in this order."""

    PENDING = "pending"  # day 7 not yet over and nothing attended
    TOO_LATE = "too_late"  # first attended on day 8 or later
    SAME_DAY_ONLY = "same_day_only"  # attended only on the discharge day
    NO_SHOW = "no_show"  # a session on days 1-7 marked no_show or late_cancelled
    CANCELLED = "cancelled"  # a session on days 1-7 cancelled
    NOTHING_BOOKED = "nothing_booked"
    REPEAT = "repeat"  # method=hedis: within 30 days of the person's last counted discharge


class FeedMode(StrEnum):
    """Therapists' calendar feeds (CALENDAR_FEEDS, or an admin's choice on /admin)."""

    OFF = "off"
    ON = "on"
    INITIALS = "initials"  # appointments also show the patient's initials


class Language(StrEnum):
    """Languages texts are written in (messaging.texts has one template table per language)."""

    EN = "en"
    ES = "es"


class ImportStatus(StrEnum):
    """An uploaded discharge file's import: waiting for its thread, checking rows, saving, done."""

    PENDING = "pending"  # stored, not yet picked up
    RUNNING = "running"  # rows being checked (and, for an import, saved)
    CHECKED = "checked"  # Check only finished: the report is ready, nothing was written
    DONE = "done"  # imported: good rows saved, the report is ready
    FAILED = "failed"  # a database error (nothing saved) or the process stopped


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
MESSAGE_KINDS = tuple(MessageKind)
DIRECTIONS = tuple(Direction)
TASK_KINDS = tuple(TaskKind)
PLAN_END_REASONS = tuple(PlanEndReason)
LANGUAGES = tuple(Language)
IMPORT_STATUSES = tuple(ImportStatus)


def sql_in(column: str, values) -> str:
    """The text of a CHECK constraint `column IN (...)` over an enum's values."""
    return f"{column} IN ({', '.join(repr(str(v)) for v in values)})"
