"""`/reports`: follow-up after discharge and engagement, as charts, tables and CSV downloads.

The page and its downloads call the same domain functions and column lists as the API
(aftercare.reports); a therapist sees only the patients in their care. Every view and
export is audited.
"""
from __future__ import annotations

from datetime import date

from flask import Response, current_app, render_template, request

from scheduler.aftercare import reports
from scheduler.aftercare.reports import ENGAGEMENT_COLUMNS, ENGAGEMENT_KEYS, FOLLOW_UP_COLUMNS
from scheduler.core import access, audit, timeutil
from scheduler.core.clock import now
from scheduler.core.spreadsheet import to_csv
from scheduler.errors import NotFound
from scheduler.extensions import db
from scheduler.models import Role
from scheduler.scheduling import groups, therapists
from scheduler.web import bp, roles, user
from scheduler.web.forms import FormState
from scheduler.web.grid import EARLIEST_DAY, LATEST_DAY

READERS = (Role.ADMIN, Role.COORDINATOR, Role.THERAPIST)
DEFAULT_ZONE = "America/New_York"
MONTHS_BACK = 5  # the default range: the first of the month 5 months back through today


def percent(value: float | None) -> str:
    """A rate as a whole percentage; a dash where nothing was due."""
    return "—" if value is None else f"{round(value * 100)}%"


def default_range(today: date) -> tuple[date, date]:
    """The first day of the month MONTHS_BACK months before `today`, through `today`."""
    months = today.year * 12 + today.month - 1 - MONTHS_BACK
    return date(months // 12, months % 12 + 1, 1), today


def _day(state: FormState, name: str, default: date) -> date | None:
    raw = state.get(name).strip()
    if not raw:
        state.data[name] = default.isoformat()
        return default
    try:
        day = timeutil.parse_date(raw)
    except ValueError as exc:
        state.add(name, str(exc))
        return None
    if not EARLIEST_DAY <= day <= LATEST_DAY:
        state.add(name, f"must be between {EARLIEST_DAY.year} and {LATEST_DAY.year}")
        return None
    return day


def read_range(state: FormState) -> tuple[date, date] | None:
    """?from=&to= (empty: the default range in the clinic's zone), or None with messages beside them."""
    zone = current_app.config.get("CLINIC_TIMEZONE") or DEFAULT_ZONE
    first_default, last_default = default_range(timeutil.local_date_of(now(), zone))
    first, last = _day(state, "from", first_default), _day(state, "to", last_default)
    if first is not None and last is not None and first > last:
        state.add("to", "must not be before From")
    return (first, last) if state.ok else None


def _follow_up(first: date, last: date, by: str) -> dict:
    asked = reports.FollowUpQuery(first, last, "all", access.visible_patients(user()))
    return reports.follow_up(db.session, asked, now(), by)


def _engagement(first: date, last: date, by: str) -> dict:
    return reports.engagement(db.session, first, last, now(), by, access.visible_patients(user()))


@bp.get("/reports")
@roles(*READERS)
def reports_page():
    """The date range form, then the follow-up and engagement sections."""
    state = FormState(request.args)
    asked = read_range(state)
    if asked is None:
        return render_template("reports/reports.html", form=state, shown=None), 422
    first, last = asked
    by_month, by_therapist = _follow_up(first, last, "month"), _follow_up(first, last, "therapist")
    discharges = _follow_up(first, last, "discharge")["rows"]
    missed = [row for row in discharges if not row["followed_up_7d"]]
    engagement = {by: _engagement(first, last, by)["rows"] for by in ("month", "therapist", "group")}
    html = render_template(
        "reports/reports.html", form=state, shown={"from": first.isoformat(), "to": last.isoformat()},
        totals=by_month, by_month=by_month["rows"], by_therapist=by_therapist["rows"], missed=missed,
        patient_names=reports.patient_names(db.session, [row["patient_id"] for row in missed]),
        engagement=engagement, therapist_names=dict(therapists.names(db.session)),
        group_titles={g.id: g.title for g in groups.listed(db.session)}, percent=percent)
    audit.commit(db.session, "read", "report", None, now())
    return html


def _export(choices, build) -> Response | tuple[str, int]:
    """?by=&from=&to= read, then `build(by, first, last)` -> (columns, rows, name) as a CSV download."""
    by = request.args.get("by", "month")
    if by not in choices:
        raise NotFound("no such report")
    state = FormState(request.args)
    asked = read_range(state)
    if asked is None:
        detail = "; ".join(f"{'From' if k == 'from' else 'To'} {v}" for k, v in state.errors.items())
        return render_template("errors/error.html", code=422, name="Not a date range", detail=detail), 422
    columns, rows, name = build(by, *asked)
    answer = Response(to_csv(columns, rows), mimetype="text/csv",
                      headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
    audit.commit(db.session, "export", "report", None, now())
    return answer


@bp.get("/reports/follow-up.csv")
@roles(*READERS)
def follow_up_csv():
    """?by=month|therapist|discharge&from=&to=: the follow-up rows as the API's CSV."""
    return _export(reports.BY_FOLLOW_UP, lambda by, first, last: (
        FOLLOW_UP_COLUMNS[by], _follow_up(first, last, by)["rows"], f"follow-up-by-{by}"))


@bp.get("/reports/engagement.csv")
@roles(*READERS)
def engagement_csv():
    """?by=month|therapist|group&from=&to=: the engagement rows as the API's CSV."""
    return _export(reports.BY_ENGAGEMENT, lambda by, first, last: (
        (ENGAGEMENT_KEYS[by], *ENGAGEMENT_COLUMNS), _engagement(first, last, by)["rows"], f"engagement-by-{by}"))
