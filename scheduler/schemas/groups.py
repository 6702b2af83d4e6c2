"""Groups: create a recurring series, enrol, attendance, and the answers with roster counts."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from scheduler.models.enums import EnrollmentStatus
from scheduler.scheduling.limits import MAX_GROUP_CAPACITY
from scheduler.schemas.appointments import AttendanceStatus, SessionMinutes
from scheduler.schemas.common import (
    NO_NUL_PATTERN,
    WALL_TIME,
    Count,
    Id,
    Instant,
    LocalDateTime,
    Minutes,
    RecordId,
    Request,
    Response,
    TimeZone,
    WallTime,
    ZoneName,
    text,
    whole,
)
from scheduler.schemas.therapists import Timed

RRULE_MAX = 500
Rrule = Annotated[str, Field(
    min_length=1, max_length=RRULE_MAX, pattern=NO_NUL_PATTERN,
    json_schema_extra={"x-rules-in-code": ["an RFC 5545 rule that yields a date", "at most daily",
                                           "no BYHOUR/BYMINUTE/BYSECOND", "INTERVAL 1-52",
                                           "start is its first date"]},
    description="An RFC 5545 RRULE such as FREQ=WEEKLY;COUNT=12 (checked in code: repeats at most "
                "daily, no BYHOUR/BYMINUTE/BYSECOND, INTERVAL 1-52, and start is its first date). "
                "Left out: a single meeting.")]


class GroupCreate(Request):
    title: text(200)
    facilitator_id: Id
    capacity: whole(1, MAX_GROUP_CAPACITY)
    start: Annotated[LocalDateTime, Field(
        json_schema_extra={"x-rules-in-code": ["in the future", "on a whole minute", "a real calendar date",
                                            "not in a DST gap", "the rrule's first date"]},
        description="The first meeting's wall time in the group's zone (an offset, if given, is "
                    "converted to it); in the future, on a whole minute.")]
    duration_minutes: SessionMinutes
    timezone: TimeZone
    rrule: Rrule | None = None
    location: text(200) | None = None
    cancel_clashing: Annotated[bool, Field(
        description="Create the group with the meetings at which the facilitator is busy or on time "
                    "off cancelled; left out or false, such meetings are a 409 naming them.")] = False


class EnrollmentCreate(Request):
    patient_id: Id


class OccurrenceAttendance(Request):
    patient_id: Id
    status: AttendanceStatus


# --- answers --------------------------------------------------------------------------------


class Occurrence(Timed):
    from_record = {**Timed.from_record, "start_local": lambda occ: occ.start_dt}

    id: RecordId
    start: Instant
    start_local: WallTime
    end: Instant
    cancelled: bool


class Group(Response):
    """Read from the group with its roster counts and next meetings added (a `Record`)."""

    from_record = {"start": lambda group: group.local_start.strftime(WALL_TIME)}

    id: RecordId
    title: str
    facilitator_id: RecordId
    capacity: Annotated[int, Field(ge=1)]
    location: str | None
    duration_minutes: Minutes
    timezone: ZoneName
    rrule: str | None
    start: Annotated[WallTime, Field(description="The first meeting's wall time in the group's zone.")]
    enrolled: Count
    waitlisted: Count
    next_occurrences: list[Occurrence]


class Enrollment(Response):
    """Read from the enrollment; a waitlisted one's `position` is added (a `Record`)."""

    from_record = {"enrollment_id": lambda e: e.id}

    status: Literal[EnrollmentStatus.ENROLLED.value, EnrollmentStatus.WAITLISTED.value]
    enrollment_id: RecordId
    group_id: RecordId
    patient_id: RecordId
    position: Annotated[int, Field(ge=1, description="Only when waitlisted: 1 is next in line.")] = None


class Dropped(Response):
    status: Literal[EnrollmentStatus.DROPPED.value]
    enrollment_id: RecordId
    promoted_patient_ids: list[RecordId]


class Attendance(Response):
    id: RecordId
    occurrence_id: RecordId
    patient_id: RecordId
    status: AttendanceStatus | None
    confirmed_at: Instant | None
    recorded_at: Instant | None
