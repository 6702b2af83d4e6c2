"""`/calendar`: the week of one therapist (filled in by the next commit)."""
from __future__ import annotations

from flask import render_template

from scheduler.web import bp, roles


@bp.get("/calendar")
@roles("admin", "coordinator", "therapist")
def calendar():
    return render_template("today/today.html")
