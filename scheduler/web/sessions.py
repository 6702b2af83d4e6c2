"""The staff session as Flask sees it: a cookie holding a random key, the data in core/sessions' row.

Why on the server: a signed cookie cannot be ended early (sign-out, an admin's password reset and
the idle limit could not take effect), and whatever a page flashes ("Booked <name>") would travel
in it. What holds here:
- sign-in and sign-out issue a new key (renew()): a key known before either is worthless after;
- a request that never touches `session` (the API, webhooks, /healthz, static files) neither
  reads nor writes a row, and one that only reads it writes nothing but `seen_at`, at most once
  every TOUCH (the idle limit needs no finer grain): booking speed does not pay for sessions;
- a row ended meanwhile (signed out in another tab) is never brought back by a later write.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from flask import Flask, Request, Response
from flask import session as flask_session
from flask.sessions import SecureCookieSession, SessionInterface

from scheduler.core import sessions
from scheduler.core.clock import now
from scheduler.extensions import db

TOUCH = timedelta(seconds=60)
# Paths that never use the staff session: they get an empty one, never looked up nor stored.
SESSIONLESS = ("/api/", "/sms/", "/healthz", "/static/")


class ServerSession(SecureCookieSession):
    """Flask's `session` for one request: the row's data, its key, and what to do at the end."""

    def __init__(self, initial=None, key: str | None = None, seen_at: datetime | None = None,
                 stale: bool = False, detached: bool = False):
        super().__init__(initial)
        self.key, self.seen_at = key, seen_at
        self.stale = stale  # a cookie came whose session no longer exists (ended or expired)
        self.detached = detached  # a sessionless path: never stored
        self.renewing = False


def renew() -> None:
    """Give this browser a new key at the end of the request, ending the old one (sign-in, sign-out)."""
    flask_session._get_current_object().renewing = True


def expired() -> bool:
    """True when the request brought a cookie whose session has ended (to say so on sign-in)."""
    return bool(getattr(flask_session._get_current_object(), "stale", False))


def _idle(app: Flask) -> timedelta:
    return timedelta(minutes=app.config.get("SESSION_IDLE_MINUTES") or 30)


class ServerSessionInterface(SessionInterface):
    """Flask's session interface over the staff_sessions table (the request's own db session)."""

    def open_session(self, app: Flask, request: Request) -> ServerSession:
        if request.path.startswith(SESSIONLESS):
            return ServerSession(detached=True)
        key = request.cookies.get(self.get_cookie_name(app))
        if not key:
            return ServerSession()
        row = sessions.load(db.session, key, now(), _idle(app))
        if row is None:
            return ServerSession(stale=True)
        return ServerSession(sessions.decode(row), key=key, seen_at=row.seen_at)

    def save_session(self, app: Flask, sess: ServerSession, response: Response) -> None:
        if sess.detached:
            return
        if sess.accessed:
            response.vary.add("Cookie")
        at, store = now(), db.session
        key = None if sess.renewing else sess.key
        writes = []
        if sess.key and (sess.renewing or not sess):
            writes.append(lambda: sessions.end(store, sess.key))
        if sess and key is None:
            writes.append(lambda: self._issue(app, response, sessions.create(store, dict(sess), at, _idle(app))))
        elif sess and sess.modified:
            writes.append(lambda: sessions.save(store, key, dict(sess), at) or self._drop(app, response))
        elif sess and sess.accessed and sess.seen_at and at - sess.seen_at >= TOUCH:
            writes.append(lambda: sessions.touch(store, key, at))
        if not sess and (sess.key or sess.stale):
            self._drop(app, response)
        if writes:
            # The view has committed what it meant to; anything left is an unfinished change that
            # must not ride along with the session's commit.
            store.rollback()
            for write in writes:
                write()
            store.commit()

    def _issue(self, app: Flask, response: Response, key: str) -> None:
        # No Expires: the browser forgets it on close; the server ends it sooner or later anyway.
        response.set_cookie(self.get_cookie_name(app), key, httponly=self.get_cookie_httponly(app),
                            secure=self.get_cookie_secure(app), samesite=self.get_cookie_samesite(app),
                            domain=self.get_cookie_domain(app), path=self.get_cookie_path(app))
        response.vary.add("Cookie")

    def _drop(self, app: Flask, response: Response) -> None:
        response.delete_cookie(self.get_cookie_name(app), domain=self.get_cookie_domain(app),
                               path=self.get_cookie_path(app), secure=self.get_cookie_secure(app),
                               samesite=self.get_cookie_samesite(app), httponly=self.get_cookie_httponly(app))
        response.vary.add("Cookie")
