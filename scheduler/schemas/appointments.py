"""Appointments: book, reschedule, cancel, attendance, and the appointment as answered."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, RootModel

from scheduler.models.enums import ATTENDANCE_STATUSES, AppointmentStatus
from scheduler.scheduling.limits import CANCEL_SCOPES, MAX_REPEAT_WEEKS, MAX_SESSION_MINUTES, MIN_SESSION_MINUTES
from scheduler.schemas.common import Id, Instant, LocalDateTime, Minutes, RecordId, Request, Response, text, whole
from scheduler.schemas.therapists import Timed

SessionMinutes = whole(MIN_SESSION_MINUTES, MAX_SESSION_MINUTES, "The session's length in minutes.")
FutureStart = Annotated[LocalDateTime, Field(
    json_schema_extra={"x-rules-in-code": ["in the future", "a real calendar date", "not in a DST gap"]},
    description="In the future; local values are read in the therapist's zone.")]
AttendanceStatus = Literal[tuple(str(s) for s in ATTENDANCE_STATUSES)]
RepeatWeeks = whole(1, MAX_REPEAT_WEEKS, "Book this many weekly sessions at the same local time, all or none "
                    "(a 409 lists every clash); the answer is then {appointments: [...]}. Left out: one session.")
CancelScope = Literal[CANCEL_SCOPES]


class AppointmentCreate(Request):
    therapist_id: Id
    patient_id: Id
    start: FutureStart
    duration_minutes: SessionMinutes
    repeat_weeks: RepeatWeeks = None


class AppointmentUpdate(Request, json_schema_extra={"minProperties": 1}):
    """Give start, duration_minutes or both."""

    start: FutureStart = None
    duration_minutes: SessionMinutes = None


class CancelRequest(Request):
    reason: text(500) | None = None
    scope: Annotated[CancelScope, Field(description='"one" (the default): this session; "later": this one and '
                                                    'the later sessions of its weekly series, with one text.')] = "one"


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


class AppointmentSeries(Response):
    """Weekly sessions booked together (`repeat_weeks`), in time order."""

    appointments: Annotated[list[Appointment], Field(min_length=1, max_length=MAX_REPEAT_WEEKS)]


class Booked(RootModel[Appointment | AppointmentSeries]):
    """One appointment, or with `repeat_weeks` the series as {appointments: [...]}."""
