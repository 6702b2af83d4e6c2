"""Reports: follow-up after discharge and engagement, and the texting's status."""
from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import Field

from scheduler.models import FollowUpReason
from scheduler.schemas.common import Count, Date, RecordId, Request, Response, rules_in_code

Reason = Literal[tuple(r.value for r in FollowUpReason)]


class FollowUpQuery(Request):
    """Discharge dates from..to, inclusive; `to` must not be before `from`."""

    from_: Annotated[Date, Field(alias="from")]
    to: Annotated[Date, Field(description="Not before `from`.", json_schema_extra=rules_in_code(
        "not before from", "a real calendar date"))]
    by: Literal["month", "therapist", "discharge"] | None = None
    method: Literal["all", "hedis"] = "all"


Rate = Annotated[float, Field(ge=0, le=1, description="null where nothing was due")]


class FollowUpCounts(Response):
    discharges: Annotated[Count, Field(description="Discharges dated from..to; a person discharged twice counts twice.")]
    followed_up_7d: Annotated[Count, Field(description="Of those, followed by an attended session on day 1-7.")]
    followed_up_30d: Annotated[Count, Field(description="... on day 1-30.")]
    rate_7d: Rate | None
    rate_30d: Rate | None


class FollowUpMonth(FollowUpCounts):
    month: Annotated[str, Field(pattern=r"^\d{4}-\d{2}$", description="YYYY-MM of the discharge date")]


class FollowUpTherapist(FollowUpCounts):
    therapist_id: RecordId


class FollowUpDischarge(Response):
    discharge_id: RecordId
    patient_id: RecordId
    date: date
    followed_up_7d: bool
    followed_up_30d: bool
    first_attended: date | None
    reason: Reason | None


class FollowUp(FollowUpCounts):
    from_: Annotated[date, Field(alias="from")]
    to: date
    rows: list[FollowUpMonth] | list[FollowUpTherapist] | list[FollowUpDischarge] | None = None


class EngagementQuery(Request):
    """Sessions that started from..to (inclusive, the patient's local dates), grouped by `by`."""

    from_: Annotated[Date, Field(alias="from")]
    to: Annotated[Date, Field(description="Not before `from`.", json_schema_extra=rules_in_code(
        "not before from", "a real calendar date"))]
    by: Literal["month", "therapist", "group"] = "month"


class EngagementRow(Response):
    month: Annotated[str, Field(pattern=r"^\d{4}-\d{2}$")] | None = None
    therapist_id: RecordId | None = None
    group_id: Annotated[RecordId | None, Field(description="null: individual appointments")] = None
    sessions: Count
    attended: Count
    no_show: Count
    late_cancelled: Count
    attendance_rate: Rate | None
    no_show_rate: Rate | None
    confirmed_by_reply_rate: Rate | None
    delivered_rate: Rate | None


class Engagement(Response):
    from_: Annotated[date, Field(alias="from")]
    to: date
    by: Literal["month", "therapist", "group"]
    rows: list[EngagementRow]


class Status(Response):
    """The texting's health: `stalled` is true when texts are due and no worker beat for a minute."""

    database: Annotated[str, Field(max_length=100)]
    workers_alive: Count
    oldest_heartbeat_at: Annotated[str, Field(json_schema_extra={"format": "date-time"})] | None
    newest_heartbeat_at: Annotated[str, Field(json_schema_extra={"format": "date-time"})] | None
    texts_due: Count
    oldest_due_at: Annotated[str, Field(json_schema_extra={"format": "date-time"})] | None
    stalled: bool
    checked_at: Annotated[str, Field(json_schema_extra={"format": "date-time"})]
