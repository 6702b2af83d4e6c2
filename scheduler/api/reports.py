"""Report routes: the follow-up-after-discharge measure."""
from __future__ import annotations

from flask import request

from scheduler.api import audited, bp, roles
from scheduler.core import timeutil
from scheduler.errors import Invalid
from scheduler.extensions import db
from scheduler.outcomes import follow_up as reports


def _query_dates(*names: str) -> list:
    """?name=YYYY-MM-DD parameters as dates; every bad one is reported at once."""
    values, errors = [], {}
    for name in names:
        raw = request.args.get(name, "")
        if not raw:
            errors[name] = "is required"
            values.append(None)
            continue
        try:
            values.append(timeutil.parse_date(raw))
        except ValueError as exc:
            errors[name] = str(exc)
            values.append(None)
    if errors:
        raise Invalid(errors)
    return values


@bp.get("/reports/follow-up")
@roles("admin", "coordinator")
def follow_up_report():
    """Discharges in ?from=..&to= (inclusive) followed by an attended session within 7 / 30 days."""
    first, last = _query_dates("from", "to")
    if first > last:
        raise Invalid({"to": "must not be before from"})
    body = reports.follow_up(db.session, first, last)
    return audited("read", "report", None, {"from": first.isoformat(), "to": last.isoformat(), **body})
