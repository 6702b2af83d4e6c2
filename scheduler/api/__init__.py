"""The JSON API under /api/v1: bearer tokens, roles, and errors as the contract says."""
from __future__ import annotations

import json
import logging
from functools import wraps
from pathlib import Path

from flask import Blueprint, current_app, g, jsonify, request
from limits import parse as parse_limit
from sqlalchemy.exc import DBAPIError, IntegrityError
from werkzeug.exceptions import HTTPException

from scheduler.core import access, audit
from scheduler.core.auth import user_for_token
from scheduler.core.clock import now
from scheduler.errors import DomainError, Forbidden, Invalid
from scheduler.extensions import db, limiter

bp = Blueprint("api", __name__, url_prefix="/api/v1")
OPENAPI = Path(__file__).with_name("openapi.json")
PUBLIC_ENDPOINTS = {"api.openapi"}
AUTH_FAILURE_LIMIT = "20 per minute"  # failed token checks per client address
log = logging.getLogger(__name__)


def _failure_limit():
    return parse_limit(current_app.config.get("API_AUTH_FAILURE_LIMIT", AUTH_FAILURE_LIMIT))


@bp.before_request
def authenticate():
    """Every API call but the OpenAPI document needs `Authorization: Bearer <token>`.

    Failed checks are counted per client address (the shared limiter's storage): past the
    limit, that address gets 429 until the window passes, so tokens cannot be guessed.
    """
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    address = request.remote_addr or "unknown"
    if not limiter.limiter.test(_failure_limit(), "api-auth-failures", address):
        log.warning("API: too many failed token checks from %s; refused", address)
        return jsonify(error="too many failed attempts; try again later"), 429
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    user = user_for_token(db.session, token.strip()) if scheme.lower() == "bearer" and token else None
    if user is None:
        limiter.limiter.hit(_failure_limit(), "api-auth-failures", address)
        # Never the token itself: a typo'd token is one character away from a real one.
        log.warning("API: refused a %s bearer token from %s (%s %s)",
                    "missing" if not token else "bad, expired or revoked", address, request.method,
                    request.url_rule.rule if request.url_rule else "?")
        return jsonify(error="missing or invalid bearer token"), 401, {"WWW-Authenticate": "Bearer"}
    g.user = user
    return None


def audited(action: str, entity: str, entity_id: int | None, body, status: int = 200):
    """Record who read or changed which record, commit, and answer with `body`.

    `body` is built by the caller before this commit, which would otherwise expire every
    object in it and cost a reload per row.
    """
    audit.commit(db.session, action, entity, entity_id, now())
    return body, status


def roles(*allowed: str):
    """Refuse with 403 unless the caller's role is one of `allowed` (the shared policy decides)."""
    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            access.require_role(g.user, *allowed)
            return view(*args, **kwargs)
        return wrapper
    return decorate


def own_therapist(therapist_id: int) -> None:
    """A therapist user may act only on their own calendar."""
    access.require_therapist(g.user, therapist_id)


def _refused(exc: DomainError) -> None:
    """Audit a refused attempt: a record hidden from the caller, or a route their role may not use."""
    if isinstance(exc, access.Refused):
        entity, entity_id = exc.entity, exc.entity_id
    else:  # role refused: the route says what was tried, the first id in the URL which record
        parts = request.url_rule.rule.split("/") if request.url_rule else []
        entity = parts[3] if len(parts) > 3 else "api"  # /api/v1/<entity>/...
        entity_id = next(iter((request.view_args or {}).values()), None)
    audit.record_refusal(db.session, entity[:40], entity_id, now(), getattr(g.get("user"), "id", None))


@bp.errorhandler(DomainError)
def domain_error(exc: DomainError):
    db.session.rollback()
    if isinstance(exc, (access.Refused, Forbidden)):
        _refused(exc)
    if isinstance(exc, Invalid):
        return jsonify(errors=exc.errors), 422
    body = {"error": exc.message}
    if exc.field:
        body["field"] = exc.field
    return jsonify(body), exc.status


@bp.errorhandler(IntegrityError)
def integrity_error(exc: IntegrityError):
    """A constraint the database enforced under a race: a conflict, not a crash."""
    db.session.rollback()
    return jsonify(error="conflicts with another change; nothing was saved"), 409


@bp.errorhandler(DBAPIError)
def database_error(exc: DBAPIError):
    db.session.rollback()
    # PostgreSQL exclusion (23P01) and serialization (40001) failures under a race are conflicts.
    code = getattr(getattr(exc, "orig", None), "sqlstate", None)
    if code in ("23P01", "40001", "40P01"):
        return jsonify(error="conflicts with another change; nothing was saved"), 409
    raise exc


@bp.errorhandler(HTTPException)
def http_error(exc: HTTPException):
    db.session.rollback()
    return jsonify(error=exc.description if exc.code == 400 else exc.name), exc.code


@bp.get("/openapi.json")
def openapi():
    """The OpenAPI 3 document of this API."""
    return jsonify(json.loads(OPENAPI.read_text()))


def register_routes() -> None:
    """Import the route modules so they attach to bp."""
    from scheduler.api import appointments, groups, patients, reports, therapists  # noqa: F401


register_routes()
