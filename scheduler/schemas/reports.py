"""Reports: the follow-up-after-discharge measure."""
from __future__ import annotations

from typing import Annotated

from pydantic import Field

from scheduler.schemas.common import Date, Request, Response, rules_in_code


class FollowUpQuery(Request):
    """Discharge dates from..to, inclusive; `to` must not be before `from`."""

    from_: Annotated[Date, Field(alias="from")]
    to: Annotated[Date, Field(description="Not before `from`.", json_schema_extra=rules_in_code(
        "not before from", "a real calendar date"))]


class FollowUp(Response):
    from_: Annotated[str, Field(alias="from")]
    to: str
    discharges: int
    followed_up_7d: int
    followed_up_30d: int
    rate_7d: float | None
    rate_30d: float | None


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
