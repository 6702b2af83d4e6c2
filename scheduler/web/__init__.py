"""The staff pages: server-rendered Jinja (top-level templates/), forms that post and redirect.

Pages are thin like the API views: parse with the shared schemas, decide access with
core.access, call one domain function, end with audit.commit. They never import the API.

The glue every page uses lives here: `bp`, the sign-in requirement (every page but sign-in),
`roles(...)` (the shared policy's `require_role`), `user()`, `is_htmx()`, the `<id:...>` URL
converter, and the answers to domain errors: Forbidden -> the 403 page, NotFound -> the 404 page.
Every form post ends through posts.submit().
"""
from __future__ import annotations

from functools import wraps
from urllib.parse import urlsplit

from flask import Blueprint, Flask, flash, g, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.routing import IntegerConverter

from scheduler.core import access, audit
from scheduler.core.clock import now
from scheduler.errors import DomainError, Forbidden, NotFound
from scheduler.extensions import db
from scheduler.models import Role, User
from scheduler.schemas.common import MAX_ID
from scheduler.web import sessions

bp = Blueprint("web", __name__)
PUBLIC_ENDPOINTS = {"web.login", "static"}


class IdConverter(IntegerConverter):
    """`<id:name>`: a record id the id columns can hold (1..MAX_ID, ASCII digits); else no route, a 404."""

    regex = r"[0-9]{1,10}"

    def __init__(self, url_map):
        super().__init__(url_map, min=1, max=MAX_ID)


def init_app(app: Flask) -> None:
    """Cookie flags, the server-held session, the sign-in session loader, the id converter, the pages."""
    app.url_map.converters["id"] = IdConverter
    # HttpOnly: no script reads the session; Lax: other sites' posts carry no cookie; Secure as
    # SESSION_COOKIE_SECURE says (by default: when PUBLIC_BASE_URL is https://).
    secure = bool(app.config.get("SESSION_COOKIE_SECURE"))
    app.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
                      SESSION_COOKIE_SECURE=secure, REMEMBER_COOKIE_HTTPONLY=True,
                      REMEMBER_COOKIE_SAMESITE="Lax", REMEMBER_COOKIE_SECURE=secure)
    app.session_interface = sessions.ServerSessionInterface()
    app.register_error_handler(CSRFError, csrf_refused)
    from scheduler.web import auth

    auth.init_login(app)
    app.context_processor(lambda: {"nav_links": nav_links, "nav_current": nav_current})
    from scheduler.web.grid import clock, day_label
    from scheduler.web.helpers import born, phone, zone_choices
    from scheduler.web.labels import label

    app.add_template_filter(label, "label")
    app.add_template_filter(phone, "phone")
    app.add_template_filter(born, "born")
    app.add_template_global(zone_choices, "zone_choices")

    app.add_template_filter(clock, "clock")
    app.add_template_filter(lambda moment: day_label(moment.date() if hasattr(moment, "date") else moment),
                            "day_label")
    register_routes()


# (label, path, roles): the main navigation; a page that refuses a role is not offered to it.
NAV = (
    ("Today", "/", access.EVERYONE),
    ("Calendar", "/calendar", access.EVERYONE),
    ("Availability", "/availability", access.EVERYONE),
    ("Groups", "/groups", access.EVERYONE),
    ("Patients", "/patients", access.EVERYONE),
    ("Tasks", "/tasks", access.EVERYONE),
    ("Reports", "/reports", access.EVERYONE),
    ("Imports", "/imports", (Role.ADMIN, Role.COORDINATOR)),
    ("Admin", "/admin", (Role.ADMIN,)),
)


def nav_links() -> list[tuple[str, str]]:
    """The main navigation for the signed-in user's role."""
    role = current_user.role if current_user.is_authenticated else None
    return [(label, path) for label, path, allowed in NAV if role in allowed]


def nav_current(path: str) -> bool:
    """True for the nav entry of the page being shown."""
    return request.path == path if path == "/" else request.path.startswith(path)


def register_routes() -> None:
    """Import the page modules so they attach to bp (idempotent: modules load once)."""
    from scheduler.web import (  # noqa: F401
        admin,
        aftercare,
        appointments,
        auth,
        availability,
        calendar,
        closures,
        demo_replies,
        grid,
        groups,
        imports,
        patients,
        reports,
        tasks,
        today,
    )


def user() -> User:
    """The signed-in staff user (a real User row, for the policy and the audit trail)."""
    return g.user


def is_htmx() -> bool:
    """True for a request htmx made (it wants a fragment, not a whole page)."""
    return request.headers.get("HX-Request") == "true"


@bp.before_request
def require_login():
    """Every page but sign-in needs a signed-in user; a stranger goes to sign-in and comes back."""
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if not current_user.is_authenticated:
        return _sign_in_again(request.full_path.rstrip("?") if request.method == "GET" else _came_from())
    g.user = current_user.user
    return None


def _sign_in_again(target: str | None):
    """To sign-in, and back to `target` after (login() keeps only a same-site path)."""
    if sessions.expired():
        flash("Your session ended. Please sign in again.")
    login = url_for("web.login", next=target) if target and target != "/" else url_for("web.login")
    if is_htmx():  # a fragment request cannot show the sign-in page in place
        return "", 401, {"HX-Redirect": login}
    return redirect(login)


def _came_from() -> str | None:
    """The page of this site a form was posted from: where to return after signing in again."""
    ref = urlsplit(request.referrer or "")
    if ref.netloc != request.host or not ref.path:
        return None
    return ref.path + (f"?{ref.query}" if ref.query else "")


def csrf_refused(exc: CSRFError):
    """A form posted after its session ended lost its CSRF secret with it: sign in again, not a 400."""
    if sessions.expired() and request.blueprint == "web":
        return _sign_in_again(_came_from())
    return error_page(exc)


def roles(*allowed: Role):
    """Refuse with the 403 page unless the user's role is one of `allowed` (the shared policy).

    Only `Role` members: a typo'd role string would refuse everyone, so it fails at import.
    """
    wrong = [role for role in allowed if not isinstance(role, Role)]
    if wrong or not allowed:
        raise TypeError(f"roles() takes Role members, not {wrong or 'nothing'}")

    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            access.require_role(user(), *allowed)
            return view(*args, **kwargs)
        wrapper.allowed_roles = allowed
        return wrapper
    return decorate


def error_page(exc: HTTPException):
    """A page for any HTTP error a person meets (403, 404, 400 for a bad CSRF token, 500...)."""
    db.session.rollback()
    code = exc.code or 500
    if isinstance(exc, InternalServerError):
        detail = "Something went wrong on our side. Nothing you typed was saved; please try again."
    else:
        detail = exc.description
    template = f"errors/{code}.html" if code in (403, 404, 500) else "errors/error.html"
    headers = {k: v for k, v in exc.get_headers() if k in ("Allow", "Retry-After")}
    return render_template(template, code=code, name=exc.name, detail=detail), code, headers


@bp.errorhandler(Forbidden)
def forbidden(exc: Forbidden):
    db.session.rollback()
    _audit_refusal()
    return render_template("errors/403.html", code=403, detail=exc.message), 403


@bp.errorhandler(NotFound)
def not_found(exc: NotFound):
    db.session.rollback()
    if isinstance(exc, access.Refused):  # hidden, not missing: audited as the API audits it
        _audit_refusal(exc.entity, exc.entity_id)
    return render_template("errors/404.html", code=404, detail=exc.message), 404


def _audit_refusal(*hidden) -> None:
    audit.record_refused(db.session, now(), getattr(g.get("user"), "id", None), *hidden)


@bp.errorhandler(DomainError)
def domain_error(exc: DomainError):
    """A refusal a page did not answer beside a field (e.g. a state change no longer allowed)."""
    db.session.rollback()
    return render_template("errors/error.html", code=exc.status, name="Not done",
                           detail=exc.message), exc.status
