"""Report routes: follow-up after discharge and engagement (JSON, or CSV with `Accept: text/csv`)."""
from __future__ import annotations

from flask import Response, g, request

from scheduler import schemas
from scheduler.aftercare import reports
from scheduler.aftercare.reports import ENGAGEMENT_COLUMNS, ENGAGEMENT_KEYS, FOLLOW_UP_COLUMNS
from scheduler.api import audited, bp, endpoint, roles
from scheduler.core import access, audit
from scheduler.core.clock import now
from scheduler.core.spreadsheet import to_csv
from scheduler.errors import Invalid
from scheduler.extensions import db
from scheduler.models.enums import Role


def _range(query) -> None:
    if query.from_ > query.to:
        raise Invalid({"to": "must not be before from"})


def _wants_csv() -> bool:
    return request.accept_mimetypes.best_match(["application/json", "text/csv"]) == "text/csv"


def _csv(columns, rows, name: str) -> Response:
    """The rows as a CSV download; the export is audited like a read."""
    answer = Response(to_csv(columns, rows), mimetype="text/csv",
                      headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
    audit.commit(db.session, "export", "report", None, now())
    return answer


@bp.get("/reports/follow-up")
@roles(Role.ADMIN, Role.COORDINATOR, Role.THERAPIST)
@endpoint(schemas.FollowUp, query=schemas.FollowUpQuery)
def follow_up_report(query: schemas.FollowUpQuery):
    """Discharges in ?from=..&to= (inclusive) followed by an attended session within 7 / 30 days."""
    _range(query)
    clock = now()
    asked = reports.FollowUpQuery(query.from_, query.to, query.method, access.visible_patients(g.user))
    by = query.by or ("discharge" if _wants_csv() else None)
    body = reports.follow_up(db.session, asked, clock, by)
    if _wants_csv():
        return _csv(FOLLOW_UP_COLUMNS[by], body["rows"], f"follow-up-by-{by}")
    return audited("read", "report", None, {"from": query.from_, "to": query.to, **body})


@bp.get("/reports/engagement")
@roles(Role.ADMIN, Role.COORDINATOR, Role.THERAPIST)
@endpoint(schemas.Engagement, query=schemas.EngagementQuery)
def engagement_report(query: schemas.EngagementQuery):
    """Sessions that started in ?from=..&to=, per month, therapist or group, with their rates."""
    _range(query)
    body = reports.engagement(db.session, query.from_, query.to, now(), query.by, access.visible_patients(g.user))
    if _wants_csv():
        return _csv((ENGAGEMENT_KEYS[query.by], *ENGAGEMENT_COLUMNS), body["rows"], f"engagement-by-{query.by}")
    return audited("read", "report", None, {"from": query.from_, "to": query.to, "by": query.by, **body})
