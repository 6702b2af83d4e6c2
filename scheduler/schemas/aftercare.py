"""Aftercare: discharges with their plans and progress, first sessions, and the task list."""
from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import Field

from scheduler.models.enums import PLAN_END_REASONS, TASK_KINDS
from scheduler.scheduling.limits import MAX_SESSION_MINUTES, MIN_SESSION_MINUTES
from scheduler.schemas.common import Count, Date, Id, RecordId, Request, Response, rules_in_code, whole
from scheduler.schemas.therapists import Instant

DischargeDay = Annotated[Date, Field(
    description="The discharge date (day 0 of the plan), from 2000-01-01 to at most 30 days ahead in "
                "the patient's zone (checked in code). The same date twice is the same discharge.",
    json_schema_extra=rules_in_code("a real calendar date", "at most 30 days after today in the patient's zone"))]
PlanDays = whole(1, 365, "The plan's length in days (30, 60, 90 or any number 1-365).")
PerWeek = whole(0, 7, "Sessions a week, 0-7.")
EndReason = Literal[tuple(str(r) for r in PLAN_END_REASONS)]
TaskKind = Literal[tuple(str(k) for k in TASK_KINDS)]
FollowUpReason = Literal["pending", "too_late", "same_day_only", "no_show", "cancelled", "nothing_booked"]


class DischargeCreate(Request):
    date: DischargeDay
    plan_days: PlanDays = 90
    individual_per_week: PerWeek = 1
    groups_per_week: PerWeek = 1


class DischargeUpdate(Request, json_schema_extra={"minProperties": 1}):
    """Only the fields given change."""

    date: DischargeDay = None
    plan_days: PlanDays = None
    individual_per_week: PerWeek = None
    groups_per_week: PerWeek = None


class PlanEnd(Request):
    reason: EndReason


class FirstSlotsQuery(Request):
    within_days: whole(1, 30, "Search up to the end of this day after the discharge, in the patient's "
                              "zone (day 0 is the discharge date).") = 7
    duration: whole(MIN_SESSION_MINUTES, MAX_SESSION_MINUTES, "The slot length in minutes.") = 50


class TasksQuery(Request):
    kind: TaskKind | None = None
    patient_id: Id | None = None
    open: Annotated[bool | None, Field(description="true: open tasks only; false: done ones only; "
                                                   "left out: both.")] = None


# --- answers --------------------------------------------------------------------------------


class FollowUpState(Response):
    within_7d: bool
    within_30d: bool
    reason: FollowUpReason | None


class Discharge(Response):
    id: RecordId
    patient_id: RecordId
    date: dt.date
    plan_days: Annotated[int, Field(ge=1, le=365)]
    individual_per_week: Annotated[int, Field(ge=0, le=7)]
    groups_per_week: Annotated[int, Field(ge=0, le=7)]
    active: bool
    ended_at: Instant | None
    ended_reason: EndReason | None
    planned: Count
    attended: Count
    missed: Count
    last_attended: dt.date | None
    days_since_last: Count | None
    follow_up: FollowUpState


class Discharges(Response):
    discharges: list[Discharge]


class FirstSlot(Response):
    therapist_id: RecordId
    start: Instant
    end: Instant


class FirstGroupMeeting(Response):
    group_id: RecordId
    occurrence_id: RecordId
    start: Instant
    seats_left: Count


class FirstSlots(Response):
    slots: list[FirstSlot]
    groups: list[FirstGroupMeeting]


class TaskOut(Response):
    id: RecordId
    kind: TaskKind
    patient_id: RecordId | None
    reason: str
    created_at: Instant
    done_at: Instant | None


class Tasks(Response):
    tasks: list[TaskOut]
