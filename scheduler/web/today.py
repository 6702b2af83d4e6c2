"""`/`: today's schedule for a therapist; the day at a glance for coordinators and admins."""
from __future__ import annotations

from flask import render_template

from scheduler.web import bp, roles


@bp.get("/")
@roles("admin", "coordinator", "therapist")
def today():
    """Today: the therapist's own day, or every therapist's side by side."""
    return render_template("today/today.html")
