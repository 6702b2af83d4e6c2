"""Reports: the follow-up-after-discharge measure."""
from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import Field

from scheduler.schemas.common import Count, Date, Request, Response, rules_in_code


class FollowUpQuery(Request):
    """Discharge dates from..to, inclusive; `to` must not be before `from`."""

    from_: Annotated[Date, Field(alias="from")]
    to: Annotated[Date, Field(description="Not before `from`.", json_schema_extra=rules_in_code(
        "not before from", "a real calendar date"))]


class FollowUp(Response):
    from_: Annotated[date, Field(alias="from")]
    to: date
    discharges: Annotated[Count, Field(description="Discharges dated from..to; a person discharged twice counts twice.")]
    followed_up_7d: Annotated[Count, Field(description="Of those, followed by an attended session on day 1-7.")]
    followed_up_30d: Annotated[Count, Field(description="... on day 1-30.")]
    rate_7d: Annotated[float, Field(ge=0, le=1)] | None
    rate_30d: Annotated[float, Field(ge=0, le=1, description="null when there were no discharges.")] | None
