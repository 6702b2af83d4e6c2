"""Report routes: the follow-up-after-discharge measure."""
from __future__ import annotations

from scheduler import schemas
from scheduler.api import audited, bp, endpoint, roles
from scheduler.errors import Invalid
from scheduler.extensions import db
from scheduler.models.enums import Role
from scheduler.outcomes import follow_up as reports


@bp.get("/reports/follow-up")
@roles(Role.ADMIN, Role.COORDINATOR)
@endpoint(schemas.FollowUp, query=schemas.FollowUpQuery)
def follow_up_report(query: schemas.FollowUpQuery):
    """Discharges in ?from=..&to= (inclusive) followed by an attended session within 7 / 30 days."""
    first, last = query.from_, query.to
    if first > last:
        raise Invalid({"to": "must not be before from"})
    counts = reports.follow_up(db.session, first, last)
    return audited("read", "report", None, {"from": first, "to": last, **counts})
