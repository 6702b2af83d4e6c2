"""Reports: the follow-up-after-discharge measure."""
from __future__ import annotations

from typing import Annotated

from pydantic import Field

from scheduler.schemas.common import Date, Request, Response


class FollowUpQuery(Request):
    """Discharge dates from..to, inclusive; `to` must not be before `from`."""

    from_: Annotated[Date, Field(alias="from")]
    to: Date


class FollowUp(Response):
    from_: Annotated[str, Field(alias="from")]
    to: str
    discharges: int
    followed_up_7d: int
    followed_up_30d: int
    rate_7d: float | None
    rate_30d: float | None
