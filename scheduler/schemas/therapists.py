"""Therapists: create, weekly hours and time off, slots and calendar queries, and their answers."""
from __future__ import annotations

from datetime import time
from typing import Annotated

from pydantic import Field

from scheduler.models.enums import AppointmentStatus
from scheduler.scheduling.limits import MAX_SESSION_MINUTES, MIN_SESSION_MINUTES
from scheduler.schemas.common import (
    END_PATTERN,
    HHMM,
    HHMM_PATTERN,
    HHMMEnd,
    Instant,
    LocalDateTime,
    RecordId,
    Request,
    Response,
    TimeZone,
    ZoneName,
    rules_in_code,
    text,
    whole,
)

MAX_RULES, MAX_EXCEPTIONS = 50, 500
EMAIL_PATTERN = r"^[^@\s\x00][^\s\x00]*@[^\s\x00]*[^@\s\x00]$"


class TherapistCreate(Request):
    """A new therapist; hours come next, through PUT availability."""

    name: text(200)
    email: Annotated[str, Field(max_length=254, pattern=EMAIL_PATTERN,
                                description="Links a future therapist user to this record; unique "
                                            "(case-insensitive), else 409.")] | None = None
    timezone: TimeZone


class WeeklyHours(Request):
    weekday: whole(0, 6, "0 = Monday ... 6 = Sunday.")
    start: Annotated[HHMM, Field(json_schema_extra=rules_in_code("blocks of one weekday do not overlap"))]
    end: Annotated[HHMMEnd, Field(description="After start (no overnight hours); 24:00 ends the block at "
                                              "midnight, so it joins the next day's block from 00:00. Blocks of "
                                              "one weekday may touch but not overlap.",
                               json_schema_extra=rules_in_code("after start", "no overlap"))]


class TimeOffIn(Request):
    start: LocalDateTime
    end: Annotated[LocalDateTime, Field(description="After start.", json_schema_extra=rules_in_code(
        "after start", "a real calendar date", "not in a DST gap"))]
    reason: text(200) | None = None


class AvailabilityPut(Request):
    """Replaces the weekly hours; the time off too when `exceptions` is given (else it is kept)."""

    rules: Annotated[list[WeeklyHours], Field(max_length=MAX_RULES)]
    exceptions: Annotated[list[TimeOffIn], Field(max_length=MAX_EXCEPTIONS)] | None = None


class Range(Request):
    """A time range; local values are read in the therapist's zone. `to` must be after `from`."""

    from_: Annotated[LocalDateTime, Field(alias="from")]
    to: Annotated[LocalDateTime, Field(
        description="After `from`; the range spans at most 31 days for slots, 62 for the calendar.",
        json_schema_extra=rules_in_code("after from", "at most 31 (slots) or 62 (calendar) days after it",
                                        "a real calendar date", "not in a DST gap"))]


class SlotsQuery(Range):
    """At most 31 days."""

    duration: whole(MIN_SESSION_MINUTES, MAX_SESSION_MINUTES, "The slot length in minutes.")


class CalendarQuery(Range):
    """At most 62 days."""


# --- answers --------------------------------------------------------------------------------


class Therapist(Response):
    id: RecordId
    name: str
    email: str | None
    timezone: ZoneName


class Timed(Response):
    """An answer with `start` and `end` read from a row's `start_dt` and `end_dt`."""

    from_record = {"start": lambda row: row.start_dt, "end": lambda row: row.end_dt}


class HoursOut(Response):
    from_record = {"start": lambda rule: f"{rule.start_time:%H:%M}",
                   "end": lambda rule: "24:00" if rule.end_time == time(0) else f"{rule.end_time:%H:%M}"}

    weekday: Annotated[int, Field(ge=0, le=6, description="0 = Monday ... 6 = Sunday.")]
    start: Annotated[str, Field(pattern=HHMM_PATTERN)]
    end: Annotated[str, Field(pattern=END_PATTERN, description="24:00 is midnight at the end of the day.")]


class TimeOffOut(Timed):
    id: RecordId
    start: Instant
    end: Instant
    reason: str | None


class Interval(Timed):
    start: Instant
    end: Instant


class OutsideHours(Timed):
    id: RecordId
    start: Instant
    end: Instant
    status: AppointmentStatus


class MeetingInTimeOff(Response):
    id: RecordId
    group_id: RecordId
    start: Instant
    end: Instant


class Availability(Response):
    therapist_id: RecordId
    timezone: ZoneName
    rules: list[HoursOut]
    exceptions: list[TimeOffOut]
    appointments_outside_hours: Annotated[list[OutsideHours], Field(
        description="Upcoming appointments the new hours no longer cover: kept as booked, listed so "
                    "staff can move them.")]
    meetings_in_time_off: Annotated[list[MeetingInTimeOff], Field(
        description="Upcoming meetings of groups this therapist facilitates that the time off overlaps: "
                    "kept, listed so staff can cancel them or hand the group over.")]


class Slots(Response):
    slots: list[Interval]


class CalendarAppointment(Timed):
    id: RecordId
    status: AppointmentStatus
    start: Instant
    end: Instant
    patient_id: RecordId


class CalendarOccurrence(Timed):
    id: RecordId
    group_id: RecordId
    title: str
    start: Instant
    end: Instant
    cancelled: bool


class Calendar(Response):
    appointments: list[CalendarAppointment]
    occurrences: list[CalendarOccurrence]



