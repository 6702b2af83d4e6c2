"""`/availability`: weekly hours and time off (filled in by the next commit)."""
from __future__ import annotations

from flask import render_template

from scheduler.web import bp, roles


@bp.get("/availability")
@roles("admin", "coordinator", "therapist")
def availability():
    return render_template("today/today.html")
