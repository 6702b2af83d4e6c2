"""Sign-in and sign-out for staff: Flask-Login sessions, throttled failures, a safe way back.

Passwords are Werkzeug scrypt hashes (core.auth.create_user writes them). The session is held on
the server (web/sessions.py): signing in and out each give the browser a new key, and signing
out deletes the session, so a copy of the cookie opens nothing afterwards. A session names the
user and their `session_version` (core.auth.session_id): bumping it (password reset,
deactivation) ends every session of theirs at the next request.
"""
from __future__ import annotations

import hashlib
from functools import cache
from urllib.parse import urlsplit

from flask import Flask, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user
from limits import parse
from werkzeug.security import check_password_hash, generate_password_hash

from scheduler.core import audit, auth
from scheduler.core.clock import now
from scheduler.extensions import db, limiter, login_manager
from scheduler.models import User
from scheduler.web import bp, sessions
from scheduler.web.forms import FormState

# Only failed sign-ins are counted. Per address and email: after 5 in 15 minutes even the right
# password waits (that account is being guessed from there). Per address over all emails, a much
# higher ceiling: over it, an email that has itself failed from that address in the window is
# refused unchecked, while one that has not still gets its password checked. So a clinic behind
# one proxy address keeps signing in while someone there fails on other accounts, and a guesser
# spraying many accounts gets one try per account per window once over the ceiling.
# Counted in Flask-Limiter's storage: RATELIMIT_STORAGE_URI (e.g. redis://...) shares the counts
# between gunicorn workers; the default memory:// counts in each process, so with N workers an
# attacker gets N times the attempts (still slow, and stated in the README).
FAILURES_PER_ACCOUNT = parse("5 per 15 minutes")
FAILURES_PER_ADDRESS = parse("100 per 15 minutes")
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


def _counters(email: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The limiter keys of this address and email, and of this address alone."""
    address = request.remote_addr or ""
    # Hashed: the limiter's storage need not hold the email typed.
    return ("sign-in", address, hashlib.sha256(email.encode()).hexdigest()[:32]), ("sign-in", address)


def throttled(email: str) -> bool:
    """True when this sign-in must wait rather than have its password checked (see above)."""
    if not limiter.enabled:
        return False
    account, address = _counters(email)
    if not limiter.limiter.test(FAILURES_PER_ACCOUNT, *account):
        return True
    if limiter.limiter.test(FAILURES_PER_ADDRESS, *address):
        return False
    return limiter.limiter.get_window_stats(FAILURES_PER_ACCOUNT, *account).remaining < FAILURES_PER_ACCOUNT.amount


def count_failure(email: str) -> None:
    """A refused sign-in: one more against this address and email, and this address."""
    if limiter.enabled:
        account, address = _counters(email)
        limiter.limiter.hit(FAILURES_PER_ACCOUNT, *account)
        limiter.limiter.hit(FAILURES_PER_ADDRESS, *address)


def check_password(email: str, password: str) -> User | None:
    """The active user with this email and password, or None."""
    # A NUL is in no stored email (and PostgreSQL refuses to compare one).
    user = auth.find_user(db.session, email) if "\x00" not in email else None
    if user is None or not user.password_hash or not user.active:
        check_password_hash(_dummy_hash(), password)
        return None
    return user if check_password_hash(user.password_hash, password) else None


@bp.route("/login", methods=["GET", "POST"])
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
    if state.ok and throttled(email):
        state.message = TOO_MANY
        state.data.pop("password", None)
        return render_template("auth/login.html", form=state, next=target), 429, {"Retry-After": "900"}
    found = check_password(email, password) if state.ok else None
    if found is None:
        if state.ok:
            count_failure(email)
            state.message = "Wrong email or password."
        state.data.pop("password", None)
        return render_template("auth/login.html", form=state, next=target), 401
    session.clear()  # a fresh session under a new key: nothing from before sign-in carries over
    sessions.renew()
    login_user(SessionUser(found))
    audit.commit(db.session, "login", "user", found.id, now(), found.id)
    return redirect(target or url_for("web.today"))


@bp.post("/logout")
def logout():
    """Sign out (a POST with the CSRF token: a link elsewhere cannot sign anyone out)."""
    logout_user()
    session.clear()
    sessions.renew()  # the session ends on the server; the flash below goes under a new key
    flash("You are signed out.")
    return redirect(url_for("web.login"))
