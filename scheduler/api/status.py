"""`GET /status` for monitoring (admins): what `flask --app wsgi status` prints, as JSON."""
from __future__ import annotations

from scheduler import schemas
from scheduler.api import audited, bp, endpoint, roles
from scheduler.core.clock import now
from scheduler.extensions import db
from scheduler.models.enums import Role
from scheduler.ops import status as ops_status


@bp.get("/status")
@roles(Role.ADMIN)
@endpoint(schemas.Status)
def status():
    """Database, workers alive and their oldest heartbeat, texts due and the oldest due, `stalled`."""
    return audited("read", "status", None, ops_status.status(db.session, now()))
