"""Sign-in and sign-out for staff: Flask-Login sessions, throttled failures, a safe way back.

Passwords are Werkzeug scrypt hashes (core.auth.create_user writes them). A session names the
user and their `session_version` (core.auth.session_id): bumping it, or deactivating the
user, ends every session of theirs at the next request.
"""
from __future__ import annotations

import hashlib
from functools import cache
from urllib.parse import urlsplit

from flask import Flask, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user
from werkzeug.security import check_password_hash, generate_password_hash

from scheduler.core import audit, auth
from scheduler.core.clock import now
from scheduler.extensions import db, limiter, login_manager
from scheduler.models import User
from scheduler.web import bp
from scheduler.web.forms import FormState

# Failed sign-ins per address and email, and per address over all emails. Counted in
# Flask-Limiter's storage: RATELIMIT_STORAGE_URI (e.g. redis://...) shares the counts between
# gunicorn workers; the default memory:// counts in each process, so with N workers an
# attacker gets N times the attempts (still slow, and stated in the README).
FAILURES_PER_ACCOUNT = "5 per 15 minutes"
FAILURES_PER_ADDRESS = "30 per 15 minutes"
TOO_MANY = "Too many failed sign-ins. Please wait 15 minutes and try again, or ask an administrator."


class SessionUser:
    """What Flask-Login keeps for a signed-in User: its id and session version, the row itself."""

    is_authenticated = True
    is_anonymous = False

    def __init__(self, user: User):
        self.user = user

    @property
    def is_active(self) -> bool:
        return bool(self.user.active)

    def get_id(self) -> str:
        return auth.session_id(self.user)

    def __getattr__(self, name):  # email, role, therapist_id... as on the User
        return getattr(self.user, name)


def init_login(app: Flask) -> None:
    login_manager.session_protection = "basic"

    @login_manager.user_loader
    def load_user(session_id: str):
        """The active user this session names, unless their sessions were revoked since."""
        user = auth.user_for_session(db.session, session_id)
        return SessionUser(user) if user is not None else None


def safe_next(target: str | None) -> str | None:
    """A same-site path to return to after sign-in, or None (never another site)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or any(ch in target for ch in "\r\n\\"):
        return None
    return target


@cache
def _dummy_hash() -> str:
    # Checked when no user has the email, so a wrong email costs as long as a wrong password.
    return generate_password_hash("not a password of anyone")


def _account_key() -> str:
    email = (request.form.get("email") or "").strip().lower()
    # Hashed: the limiter's storage need not hold the email typed.
    return f"{request.remote_addr}|{hashlib.sha256(email.encode()).hexdigest()[:32]}"


def _failed(response) -> bool:
    """Only a refused sign-in counts toward the limit (a success redirects)."""
    return response.status_code == 401


def check_password(email: str, password: str) -> User | None:
    """The active user with this email and password, or None."""
    # A NUL is in no stored email (and PostgreSQL refuses to compare one).
    user = auth.find_user(db.session, email) if "\x00" not in email else None
    if user is None or not user.password_hash or not user.active:
        check_password_hash(_dummy_hash(), password)
        return None
    return user if check_password_hash(user.password_hash, password) else None


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(FAILURES_PER_ACCOUNT, key_func=_account_key, methods=["POST"], deduct_when=_failed,
               error_message=TOO_MANY)
@limiter.limit(FAILURES_PER_ADDRESS, methods=["POST"], deduct_when=_failed, error_message=TOO_MANY)
def login():
    """Sign in with email and password; back to where the person was going."""
    target = safe_next(request.values.get("next"))
    state = FormState(request.form)
    if request.method == "GET":
        if current_user.is_authenticated:
            return redirect(target or url_for("web.today"))
        return render_template("auth/login.html", form=state, next=target)
    email = state.get("email").strip().lower()
    password = request.form.get("password") or ""
    if not email:
        state.add("email", "is required")
    if not password:
        state.add("password", "is required")
    found = check_password(email, password) if state.ok else None
    if found is None:
        if state.ok:
            state.message = "Wrong email or password."
        state.data.pop("password", None)
        return render_template("auth/login.html", form=state, next=target), 401
    session.clear()  # a fresh session: nothing from before sign-in carries over
    login_user(SessionUser(found))
    audit.commit(db.session, "login", "user", found.id, now(), found.id)
    return redirect(target or url_for("web.today"))


@bp.post("/logout")
def logout():
    """Sign out (a POST with the CSRF token: a link elsewhere cannot sign anyone out)."""
    logout_user()
    session.clear()
    flash("You are signed out.")
    return redirect(url_for("web.login"))
