"""`/admin` (admins only): the clinic's closed days, which the new-group preview warns about."""
from __future__ import annotations

from flask import request, url_for

from scheduler.extensions import db
from scheduler.models import Role
from scheduler.scheduling import closures
from scheduler.web import bp, roles, user
from scheduler.web.admin import page
from scheduler.web.forms import FormState
from scheduler.web.helpers import day
from scheduler.web.posts import Done, not_done, submit


@bp.post("/admin/closures")
@roles(Role.ADMIN)
def admin_closure_add():
    """Mark a day closed; a bad date, a long note or a day already closed is said beside its field."""
    state = FormState(request.form)

    def act(clock):
        row = closures.add(db.session, state.get("date"), state.get("note"), clock, user().id)
        return Done(url_for("web.admin") + "#closures", ("create", "clinic_closure", row.id),
                    flash=f"{day(row.closed_on)} is marked closed ({row.note}).")
    return submit(state, act, lambda state, status: page(closure_form=state, status=status), once_only=True)


@bp.post("/admin/closures/<id:closure_id>/remove")
@roles(Role.ADMIN)
def admin_closure_remove(closure_id: int):
    def act(clock):
        row = closures.remove(db.session, closure_id)
        return Done(url_for("web.admin") + "#closures", ("delete", "clinic_closure", closure_id),
                    flash=f"{day(row.closed_on)} is no longer marked closed.")
    return submit(FormState(request.form), act, not_done)
