"""What each vocabulary's values read as on the pages: one map per enum, built from the enum.

`LABELS[Enum][member]` is the wording; templates use the `label` filter
(`{{ appt.status|label("AppointmentStatus") }}`) and forms `choices(Enum)`. A member without
wording fails at import (and in tests/web/test_labels.py), so a new value cannot reach a page raw.
The template editor's kinds (messaging.texts, words for admin.KIND_LABELS) are another list.
"""
from __future__ import annotations

from enum import StrEnum

from scheduler.models import enums
from scheduler.models.enums import (
    AppointmentStatus,
    Direction,
    EnrollmentStatus,
    FeedMode,
    FollowUpReason,
    ImportStatus,
    Language,
    MessageKind,
    MessageStatus,
    PlanEndReason,
    Role,
    SkipReason,
    TaskKind,
)


def _build(enum: type[StrEnum], words: dict[str, str]) -> dict[StrEnum, str]:
    """Every member of `enum` with its wording (a KeyError names the one left out)."""
    return {member: words[member.value] for member in enum}


def _spaced(enum: type[StrEnum]) -> dict[str, str]:
    """The value as a person reads it: no_show -> no show (the pages' wording so far)."""
    return {member.value: member.value.replace("_", " ") for member in enum}


LABELS: dict[type[StrEnum], dict[StrEnum, str]] = {
    AppointmentStatus: _build(AppointmentStatus, _spaced(AppointmentStatus)),
    EnrollmentStatus: _build(EnrollmentStatus, {"enrolled": "Enrolled", "waitlisted": "Waitlisted",
                                                "dropped": "Dropped"}),
    MessageStatus: _build(MessageStatus, {
        "pending": "Waiting to send", "sending": "Sending", "sent": "Sent", "delivered": "Delivered",
        "undelivered": "Not delivered", "failed": "Failed", "skipped": "Not sent", "withdrawn": "Withdrawn",
        "received": "Received"}),
    Direction: _build(Direction, {"out": "Sent", "in": "Received"}),
    SkipReason: _build(SkipReason, _spaced(SkipReason)),
    TaskKind: _build(TaskKind, {
        "reschedule_request": "Asked to reschedule", "opt_out": "Opted out", "consent_needed": "Consent needed",
        "unrecognized_reply": "Reply not understood", "sms_failed": "Text failed", "no_show": "No-show",
        "attendance_missing": "Attendance missing", "group_clash": "Group clash",
        "waitlist_clash": "Waitlist clash", "no_booking_3d": "Nothing booked 3 days after discharge",
        "no_attendance_7d": "No session attended in the first 7 days", "missed_twice": "Missed twice in a row",
        "quiet_14d": "No session attended for 14 days"}),
    MessageKind: _build(MessageKind, {
        "booked": "Booking", "reminder": "Reminder", "rescheduled": "Moved", "cancelled": "Cancelled",
        "waitlist_promoted": "Seat from the waitlist", "no_show_outreach": "Invitation to book again",
        "booked_weekly": "Weekly booking", "cancelled_weekly": "Weekly sessions cancelled",
        "confirm": "C (confirm)", "reschedule": "R (reschedule)", "opt_out": "Opt-out", "opt_in": "Opt-in",
        "help": "HELP", "other": "Other reply", "reply_confirm_ack": "Answer to C",
        "reply_nothing_to_confirm": "Answer to C (nothing to confirm)", "reply_reschedule_ack": "Answer to R",
        "reply_opt_out_ack": "Answer to an opt-out", "reply_opt_in_ack": "Answer to an opt-in",
        "reply_help": "Answer to HELP", "reply_unrecognized": "Answer to a reply not understood"}),
    PlanEndReason: _build(PlanEndReason, {
        "readmitted": "Readmitted", "transferred": "Transferred", "moved": "Moved away", "declined": "Declined care",
        "died": "Died", "other": "Other"}),
    FollowUpReason: _build(FollowUpReason, {
        "pending": "Still within 7 days", "too_late": "First session after day 7",
        "same_day_only": "Seen only on the discharge day", "no_show": "Missed a session in the first week",
        "cancelled": "Session cancelled in the first week", "nothing_booked": "Nothing booked",
        "repeat": "Repeat discharge (not counted)"}),
    FeedMode: _build(FeedMode, {"off": "Off", "on": "On", "initials": "On, with patients' initials"}),
    Role: _build(Role, _spaced(Role)),
    Language: _build(Language, {"en": "English", "es": "Spanish"}),
    ImportStatus: _build(ImportStatus, {"pending": "Waiting to start", "running": "Checking rows",
                                        "checked": "Checked", "done": "Imported", "failed": "Failed"}),
}
# Not labels but the attendance buttons' names (the contract's), one per attendance status.
ATTENDANCE_ACTIONS = dict(zip(enums.ATTENDANCE_STATUSES, ("Attended", "No-show", "Late cancel"), strict=True))
_BY_NAME = {enum.__name__: enum for enum in LABELS}


def label(value: str | None, enum_name: str) -> str:
    """The wording of `value` in the named vocabulary (an unknown value spaced out)."""
    if value is None:
        return ""
    enum = _BY_NAME[enum_name]
    try:
        return LABELS[enum][enum(value)]
    except ValueError:
        return str(value).replace("_", " ")


def choices(enum: type[StrEnum]) -> list[tuple[str, str]]:
    """(value, wording) for a select, in the enum's order."""
    return [(member.value, text) for member, text in LABELS[enum].items()]
