"""`/`: today's schedule for a therapist; the day at a glance for coordinators and admins."""
from __future__ import annotations

from datetime import timedelta

from flask import render_template, request

from scheduler.core import access, audit
from scheduler.core.clock import now
from scheduler.errors import Forbidden
from scheduler.extensions import db
from scheduler.scheduling import therapists
from scheduler.web import bp, grid, roles, user
from scheduler.web.forms import FormState

CLINIC_TZ_FALLBACK = "America/New_York"


@bp.get("/")
@roles(*access.EVERYONE)
def today():
    """Today: the therapist's own day, or every therapist's side by side (`?day=` another date)."""
    me = user()
    state = FormState(request.args)
    if access.sees_everyone(me):
        return _at_a_glance(state)
    if me.therapist_id is None:
        raise Forbidden("no calendar is linked to your account")
    therapist = therapists.get(db.session, me.therapist_id)
    day = grid.parse_day(state, "day", therapist.timezone, now())
    column = grid.therapist_days(db.session, therapist, day, 1, now())[0]
    html = render_template("today/therapist.html", therapist=therapist, day=day, column=column,
                           grid=grid.layout([column]), form=state,
                           prev=day - timedelta(days=1), next=day + timedelta(days=1))
    audit.commit(db.session, "read", "therapist", therapist.id, now())
    return html


def _at_a_glance(state: FormState):
    """One column per therapist for the day, each in its own zone's date."""
    staff = therapists.by_name(db.session)
    day = grid.parse_day(state, "day", staff[0].timezone if staff else CLINIC_TZ_FALLBACK, now())
    columns = [grid.therapist_days(db.session, t, day, 1, now(), heading=lambda _d, t=t: t.name)[0]
               for t in staff]
    html = render_template("today/glance.html", day=day, grid=grid.layout(columns), form=state,
                           prev=day - timedelta(days=1), next=day + timedelta(days=1))
    audit.commit(db.session, "read", "day", None, now())
    return html
