"""The JSON API under /api/v1: bearer tokens, roles, and errors as the contract says.

Every view declares its payloads with `endpoint(...)`: the request body and query are parsed
with those schemas before the view runs, the answer is built by the declared response schema
from what the view returns, and the OpenAPI document (api/spec.py) is generated from the same
declarations and the routes. Every view ends with `audited(...)`.
"""
from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache, wraps

from flask import Blueprint, current_app, g, jsonify, request
from flask import Response as FlaskResponse
from limits import parse as parse_limit
from pydantic import BaseModel
from sqlalchemy.exc import DBAPIError, IntegrityError
from werkzeug.exceptions import BadRequest, HTTPException, NotFound

from scheduler import schemas
from scheduler.core import access, audit
from scheduler.core.auth import user_for_token
from scheduler.core.clock import now
from scheduler.errors import Clashes, DomainError, Forbidden, Invalid
from scheduler.extensions import db, limiter
from scheduler.models.enums import Role
from scheduler.schemas.common import MAX_ID, Response

bp = Blueprint("api", __name__, url_prefix="/api/v1")
PUBLIC_ENDPOINTS = {"api.openapi"}
MAX_BODY = 1024 * 1024  # the contract: a body over 1 MB is a 413
# Failed token checks are throttled per presented token (its first characters) and address, so
# that one client's bad token never locks out the valid tokens of others behind the same address
# (a clinic's proxy). The per-address ceiling is higher and counts failures only: a valid token
# is never refused by it. A request with no token at all guesses nothing and is simply a 401.
TOKEN_FAILURE_LIMIT = "10 per minute"  # one address, one token prefix
AUTH_FAILURE_LIMIT = "100 per minute"  # one address, any bad tokens
TOKEN_PREFIX = 8
log = logging.getLogger(__name__)


def _limit(name: str, default: str):
    return _parsed_limit(current_app.config.get(name, default))


@lru_cache(maxsize=8)
def _parsed_limit(text: str):
    """Parsed once per setting: every API request checks it."""
    return parse_limit(text)


def _prefix_key(token: str) -> str:
    """The throttling key of a presented token: its first characters, hashed (never stored as sent)."""
    return hashlib.sha256(token[:TOKEN_PREFIX].encode()).hexdigest()[:16]


def _too_many(address: str):
    log.warning("API: too many failed token checks from %s; refused", address)
    return jsonify(error="too many failed attempts; try again later"), 429


@bp.before_request
def authenticate():
    """Every API call but the OpenAPI document needs `Authorization: Bearer <token>`.

    A token that keeps failing from one address gets 429 until the window passes, and so does
    any bad token from an address past its ceiling of failures; a valid token keeps working.
    """
    request.max_content_length = MAX_BODY
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    address = request.remote_addr or "unknown"
    header = request.headers.get("Authorization", "").strip()
    scheme, _, token = header.partition(" ")
    token = token.strip() if scheme.lower() == "bearer" else header
    per_token = _limit("API_AUTH_TOKEN_FAILURE_LIMIT", TOKEN_FAILURE_LIMIT)
    per_address = _limit("API_AUTH_FAILURE_LIMIT", AUTH_FAILURE_LIMIT)
    keys = ("api-token-failures", address, _prefix_key(token))
    if header and not limiter.limiter.test(per_token, *keys):
        return _too_many(address)
    user = user_for_token(db.session, token) if header and scheme.lower() == "bearer" and token else None
    if user is None:
        if header:
            if not limiter.limiter.test(per_address, "api-auth-failures", address):
                return _too_many(address)
            limiter.limiter.hit(per_token, *keys)
            limiter.limiter.hit(per_address, "api-auth-failures", address)
        # Never the token itself: a typo'd token is one character away from a real one.
        log.warning("API: refused a %s bearer token from %s (%s %s)",
                    "missing" if not token else "bad, expired or revoked", address, request.method,
                    request.url_rule.rule if request.url_rule else "?")
        return jsonify(error="missing or invalid bearer token"), 401, {"WWW-Authenticate": "Bearer"}
    g.user = user
    # An id in a path beyond the id columns' range names no record: 404, not an overflow.
    if any(isinstance(v, int) and not 1 <= v <= MAX_ID for v in (request.view_args or {}).values()):
        raise NotFound()
    return None


@dataclass(frozen=True)
class Endpoint:
    """What a view takes and answers, for parsing and for the document."""

    response: type[Response] | None
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    status: int = 200
    conflict: bool = False  # may answer 409
    body_optional: bool = False  # an empty body is the same as {}
    # Rules across fields, run on the raw body when some field is wrong, so that one answer
    # names every problem (when the body is valid the domain function checks them itself).
    cross_check: Callable[[dict], dict[str, str]] | None = None


def endpoint(response: type[Response] | None, *, body: type[BaseModel] | None = None,
             query: type[BaseModel] | None = None, status: int = 200, conflict: bool = False,
             body_optional: bool = False, cross_check: Callable[[dict], dict[str, str]] | None = None):
    """Declare a view's payloads; the view gets `body=` and `query=` as parsed models.

    Unknown query parameters are refused on every route (422 naming them), declared or not.
    What the view returns (the `response` model, or data it is validated from: see `answer`)
    is written as the body with `status`.
    """
    spec = Endpoint(response, body, query, status, conflict, body_optional, cross_check)

    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            errors = {}
            if query is not None:
                raw = request.args.to_dict()
                try:
                    kwargs["query"] = schemas.parse(query, raw, strings=True, unknown="unknown parameter")
                except Invalid as exc:
                    errors.update(exc.errors)
                # `?by=` is no value the document allows: leave a parameter out to take its default.
                errors.update({name: "must not be empty (leave it out for the default)"
                               for name, value in raw.items() if value == "" and name not in errors})
            else:
                errors.update({name: "unknown parameter" for name in request.args})
            if body is not None:
                data = json_body(optional=body_optional)
                try:
                    kwargs["body"] = schemas.parse(body, data)
                except Invalid as exc:
                    extra = cross_check(data) if cross_check else {}
                    errors.update({**extra, **exc.errors})
            if errors:
                raise Invalid(errors)
            result = view(*args, **kwargs)
            if response is None or isinstance(result, FlaskResponse):  # e.g. a report as CSV
                return result
            if not isinstance(result, response):
                result = answer(result)
            # Fields a record left out (a position only the waitlisted have) stay out.
            return jsonify(result.model_dump(mode="json", by_alias=True, exclude_unset=True)), status
        wrapper.endpoint_spec = spec
        return wrapper
    return decorate


def json_body(optional: bool = False) -> dict:
    """The request's JSON object; 400 when it is not one (an empty body is {} when `optional`)."""
    if optional and not request.get_data():
        return {}
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise BadRequest("the body must be a JSON object")
    return data


def answer(data, zone: str | None = None) -> Response:
    """`data` as the current view's declared response model: a dict of its fields, or a record
    read by attribute; instants are written in `zone` (else UTC)."""
    model = current_app.view_functions[request.endpoint].endpoint_spec.response
    return model.model_validate(data, from_attributes=True, context={"zone": zone})


def audited(action: str, entity: str, entity_id: int | None, data, zone: str | None = None,
            also: tuple[tuple[str, str, int], ...] = ()) -> Response:
    """End the unit of work: build the answer from `data` (see `answer`), record who read or
    changed which record (and `also` these), commit, and return the answer.

    The answer is built before this commit, which would otherwise expire every object in it and
    cost a reload per row.
    """
    body = answer(data, zone)
    clock = now()
    *first, last = ((action, entity, entity_id), *also)
    for row in first:
        audit.record(db.session, *row, clock)
    audit.commit(db.session, *last, clock)
    return body


def roles(*allowed: Role):
    """Refuse with 403 unless the caller's role is one of `allowed` (the shared policy decides).

    Only `Role` members are taken, checked when the view is decorated: a misspelt role string
    would otherwise refuse everyone, silently.
    """
    wrong = [r for r in allowed if not isinstance(r, Role)]
    if not allowed or wrong:
        raise TypeError(f"roles() takes Role members, got {wrong or 'none'}")

    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            access.require_role(g.user, *allowed)
            return view(*args, **kwargs)
        wrapper.allowed_roles = allowed
        return wrapper
    return decorate


def own_therapist(therapist_id: int) -> None:
    """A therapist user may act only on their own calendar."""
    access.require_therapist(g.user, therapist_id)


def _refused(exc: DomainError) -> None:
    """Audit a refused attempt: a record hidden from the caller, or a route their role may not use."""
    hidden = (exc.entity, exc.entity_id) if isinstance(exc, access.Refused) else ()
    audit.record_refused(db.session, now(), getattr(g.get("user"), "id", None), *hidden)


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
    if isinstance(exc, Clashes):
        body["clashes"] = exc.clashes
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


def register_routes() -> None:
    """Import the route modules so they attach to bp."""
    from scheduler.api import (  # noqa: F401
        appointments,
        discharges,
        groups,
        patients,
        reports,
        spec,
        status,
        tasks,
        therapists,
    )


register_routes()
