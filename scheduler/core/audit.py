"""The append-only audit trail: who saw or changed which record, and when."""
from __future__ import annotations

from datetime import datetime

from flask import g, has_request_context, request
from sqlalchemy import insert
from sqlalchemy.orm import Session

from scheduler.models import AuditEvent

_INSERT = insert(AuditEvent.__table__)


def record(session: Session, action: str, entity: str, entity_id: int | None,
           now: datetime, user_id: int | None = None, route: str | None = None) -> None:
    """Add one audit row in the caller's transaction; ids only, never patient data.

    In a request the route is the URL rule; elsewhere the caller names it (e.g. "cli users token").
    """
    if has_request_context():
        user_id = user_id if user_id is not None else getattr(g.get("user"), "id", None)
        route = f"{request.method} {request.url_rule.rule}" if request.url_rule else request.method
    # A plain INSERT on the session's connection: one row needs no unit-of-work flush.
    session.connection().execute(_INSERT, {"at": now, "user_id": user_id, "action": action, "entity": entity,
                                           "entity_id": entity_id, "route": route})


def commit(session: Session, action: str, entity: str, entity_id: int | None,
           now: datetime, user_id: int | None = None, route: str | None = None) -> None:
    """End a unit of work: record who read or changed which record, then commit both together.

    Every API view and staff page ends this way. Build any answer from the objects before
    calling it: the commit expires them, and reading them again costs a reload per row.
    """
    record(session, action, entity, entity_id, now, user_id, route=route)
    session.commit()


def record_refusal(session: Session, entity: str, entity_id: int | None, now: datetime,
                   user_id: int | None = None) -> None:
    """Record a refused attempt to read or change a record, in a transaction of its own.

    Call it after the refused work was rolled back: the refusal is kept even though nothing
    else was. Who, which route (read or change) and which id; never patient data.
    """
    session.rollback()
    record(session, "refused", entity, entity_id, now, user_id)
    session.commit()


def record_refused(session: Session, now: datetime, user_id: int | None, entity: str = "",
                   entity_id: int | None = None) -> None:
    """Record a refusal the API or a page answered (404 as if missing, or 403 for the role).

    Without `entity` the route says what was tried (its first word after any /api/v1) and the
    first id in the URL which record. Shared by both edges so they audit refusals alike.
    """
    if not entity:
        rule = request.url_rule.rule if has_request_context() and request.url_rule else ""
        words = [part for part in rule.split("/") if part and not part.startswith("<")]
        if words[:2] == ["api", "v1"]:
            words = words[2:]
        entity = words[0] if words else "page"
        entity_id = next(iter((request.view_args or {}).values()), None) if has_request_context() else None
    record_refusal(session, entity[:40], entity_id if isinstance(entity_id, int) else None, now, user_id)


def record_many(session: Session, action: str, entity: str, entity_ids: list[int], now: datetime,
                user_id: int | None = None) -> None:
    """One audit row per id in one statement, for work done outside a request (e.g. texts sent)."""
    if entity_ids:
        session.execute(insert(AuditEvent), [
            {"at": now, "user_id": user_id, "action": action, "entity": entity, "entity_id": i}
            for i in entity_ids])
