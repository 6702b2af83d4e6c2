"""`/calendar`: one therapist's week, Monday to Sunday in their zone, with free slots to book."""
from __future__ import annotations

from datetime import timedelta

from flask import render_template, request

from scheduler.core import access, audit, timeutil
from scheduler.core.clock import now
from scheduler.errors import Forbidden
from scheduler.extensions import db
from scheduler.models import Therapist
from scheduler.scheduling import therapists
from scheduler.web import bp, grid, roles, user
from scheduler.web.forms import FormState, require_id


def chosen_therapist(raw: str | None) -> Therapist | None:
    """The therapist a page is about: a therapist's own; staff pick any (`?therapist=ID`)."""
    me = user()
    if raw:
        therapist_id = require_id(raw, "therapist")
        access.require_therapist(me, therapist_id)
        return therapists.get(db.session, therapist_id)
    if me.therapist_id is not None:
        return therapists.get(db.session, me.therapist_id)
    if not access.sees_everyone(me):
        raise Forbidden("no calendar is linked to your account")
    return next(iter(therapists.by_name(db.session)), None)


def all_therapists() -> list[Therapist]:
    """For staff's therapist picker; a therapist sees only their own."""
    if not access.sees_everyone(user()):
        return []
    return therapists.by_name(db.session)


@bp.get("/calendar")
@roles(*access.EVERYONE)
def calendar():
    """The week grid (an agenda list on a narrow screen)."""
    therapist = chosen_therapist(request.args.get("therapist"))
    state = FormState(request.args)
    if therapist is None:
        return render_template("calendar/none.html")
    monday = grid.monday_of(grid.parse_day(state, "week", therapist.timezone, now()))
    if not state.error("week"):
        state.data["week"] = monday.isoformat()
    columns = grid.therapist_days(db.session, therapist, monday, 7, now())
    html = render_template(
        "calendar/week.html", therapist=therapist, grid=grid.layout(columns), monday=monday,
        sunday=monday + timedelta(days=6), prev=monday - timedelta(days=7), next=monday + timedelta(days=7),
        therapists=all_therapists(), form=state, today=timeutil.local_date_of(now(), therapist.timezone))
    audit.commit(db.session, "read", "therapist", therapist.id, now())
    return html
