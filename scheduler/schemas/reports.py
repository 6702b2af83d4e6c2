"""Reports: follow-up after discharge and engagement, and the texting's status."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from scheduler.models import FollowUpReason
from scheduler.schemas.common import Date, Request, Response, rules_in_code

Reason = Literal[tuple(r.value for r in FollowUpReason)]


class FollowUpQuery(Request):
    """Discharge dates from..to, inclusive; `to` must not be before `from`."""

    from_: Annotated[Date, Field(alias="from")]
    to: Annotated[Date, Field(description="Not before `from`.", json_schema_extra=rules_in_code(
        "not before from", "a real calendar date"))]
    by: Literal["month", "therapist", "discharge"] | None = None
    method: Literal["all", "hedis"] = "all"


class FollowUpCounts(Response):
    discharges: int
    followed_up_7d: int
    followed_up_30d: int
    rate_7d: float | None
    rate_30d: float | None


class FollowUpMonth(FollowUpCounts):
    month: Annotated[str, Field(pattern=r"^\d{4}-\d{2}$", description="YYYY-MM of the discharge date")]


class FollowUpTherapist(FollowUpCounts):
    therapist_id: int


class FollowUpDischarge(Response):
    discharge_id: int
    patient_id: int
    date: str
    followed_up_7d: bool
    followed_up_30d: bool
    first_attended: str | None
    reason: Reason | None


class FollowUp(FollowUpCounts):
    from_: Annotated[str, Field(alias="from")]
    to: str
    rows: list[FollowUpMonth] | list[FollowUpTherapist] | list[FollowUpDischarge] | None = None


class EngagementQuery(Request):
    """Sessions that started from..to (inclusive, the patient's local dates), grouped by `by`."""

    from_: Annotated[Date, Field(alias="from")]
    to: Annotated[Date, Field(description="Not before `from`.", json_schema_extra=rules_in_code(
        "not before from", "a real calendar date"))]
    by: Literal["month", "therapist", "group"] = "month"


class EngagementRow(Response):
    month: str | None = None
    therapist_id: int | None = None
    group_id: int | None = None
    sessions: int
    attended: int
    no_show: int
    late_cancelled: int
    attendance_rate: float | None
    no_show_rate: float | None
    confirmed_by_reply_rate: float | None
    delivered_rate: float | None


class Engagement(Response):
    from_: Annotated[str, Field(alias="from")]
    to: str
    by: str
    rows: list[EngagementRow]


class Status(Response):
    """The texting's health: `stalled` is true when texts are due and no worker beat for a minute."""

    database: str
    workers_alive: int
    oldest_heartbeat_at: str | None
    newest_heartbeat_at: str | None
    texts_due: int
    oldest_due_at: str | None
    stalled: bool
    checked_at: str
