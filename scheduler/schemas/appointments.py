"""Appointments: book, reschedule, cancel, attendance, and the appointment as answered."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from scheduler.models.enums import ATTENDANCE_STATUSES, AppointmentStatus
from scheduler.scheduling.limits import MAX_SESSION_MINUTES, MIN_SESSION_MINUTES
from scheduler.schemas.common import Id, Instant, LocalDateTime, Minutes, RecordId, Request, text, whole
from scheduler.schemas.therapists import Timed

SessionMinutes = whole(MIN_SESSION_MINUTES, MAX_SESSION_MINUTES, "The session's length in minutes.")
FutureStart = Annotated[LocalDateTime, Field(
    json_schema_extra={"x-rules-in-code": ["in the future", "a real calendar date", "not in a DST gap"]},
    description="In the future; local values are read in the therapist's zone.")]
AttendanceStatus = Literal[tuple(str(s) for s in ATTENDANCE_STATUSES)]


class AppointmentCreate(Request):
    therapist_id: Id
    patient_id: Id
    start: FutureStart
    duration_minutes: SessionMinutes


class AppointmentUpdate(Request, json_schema_extra={"minProperties": 1}):
    """Give start, duration_minutes or both."""

    start: FutureStart = None
    duration_minutes: SessionMinutes = None


class CancelRequest(Request):
    reason: text(500) | None = None


class AttendanceRequest(Request):
    status: AttendanceStatus


# --- answers --------------------------------------------------------------------------------


class Event(Timed):
    at: Instant
    status: AppointmentStatus
    user_id: RecordId | None
    note: str | None
    start: Instant | None
    end: Instant | None


class Appointment(Timed):
    from_record = {**Timed.from_record,
                   "duration_minutes": lambda a: int((a.end_dt - a.start_dt).total_seconds() // 60)}

    id: RecordId
    status: AppointmentStatus
    start: Instant
    end: Instant
    therapist_id: RecordId
    patient_id: RecordId
    duration_minutes: Minutes
    cancel_reason: str | None
    version: Annotated[int, Field(ge=1, description="Counts the changes; each one adds 1.")]


class AppointmentWithHistory(Appointment):
    from_record = {**Appointment.from_record, "history": lambda a: a.events}

    history: list[Event]
