"""What each vocabulary's values read as on the pages: one map per enum, built from the enum.

`LABELS[Enum][member]` is the wording; templates use the `label` filter
(`{{ appt.status|label("AppointmentStatus") }}`) and forms `choices(Enum)`. A member without
wording fails at import (and in tests/web/test_labels.py), so a new value cannot reach a page raw.
Message kinds keep their wording in admin.KIND_LABELS until the MessageKind enum exists.
"""
from __future__ import annotations

from enum import StrEnum

from scheduler.models import enums
from scheduler.models.enums import (
    AppointmentStatus,
    Direction,
    EnrollmentStatus,
    Language,
    MessageStatus,
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
        "waitlist_clash": "Waitlist clash"}),
    Role: _build(Role, _spaced(Role)),
    Language: _build(Language, {"en": "English", "es": "Spanish"}),
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
