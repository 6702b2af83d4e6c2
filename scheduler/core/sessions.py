"""Staff sessions held in the database: the rows behind the cookie of web/sessions.py.

A row is found by the SHA-256 of the cookie's random key, so a copy of the table opens nothing.
A session ends when its user signs out (end), after the idle limit without a request or MAX_AGE
in all (load refuses it, purge deletes it), and when all of its user's sessions are ended
(end_all: password reset, deactivation).
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from flask.json.tag import TaggedJSONSerializer
from sqlalchemy import delete, or_, update
from sqlalchemy.orm import Session

from scheduler.models import StaffSession

MAX_AGE = timedelta(hours=12)
# Flask's own session format (keeps tuples, bytes, Markup and datetimes as they were).
_FORMAT = TaggedJSONSerializer()


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _user_id(data: dict) -> int | None:
    """The user a session is signed in as (Flask-Login keeps core.auth.session_id: 'id:version')."""
    head = str(data.get("_user_id") or "").partition(":")[0]
    return int(head) if head.isascii() and head.isdigit() else None


def _expired(row: StaffSession, at: datetime, idle: timedelta) -> bool:
    return row.seen_at <= at - idle or row.created_at <= at - MAX_AGE


def load(session: Session, key: str, at: datetime, idle: timedelta) -> StaffSession | None:
    """The live session with this key, or None (unknown, ended or expired)."""
    row = session.get(StaffSession, _hash(key)) if key and len(key) <= 100 else None
    return None if row is None or _expired(row, at, idle) else row


def purge(session: Session, at: datetime, idle: timedelta) -> None:
    """Delete the sessions that have expired (they open nothing already; this keeps the table small)."""
    session.execute(delete(StaffSession).where(or_(StaffSession.seen_at <= at - idle,
                                              StaffSession.created_at <= at - MAX_AGE)))


def create(session: Session, data: dict, at: datetime, idle: timedelta) -> str:
    """Store a new session; returns its key (the cookie's value, kept nowhere else)."""
    purge(session, at, idle)
    key = secrets.token_urlsafe(32)
    session.add(StaffSession(key_hash=_hash(key), user_id=_user_id(data), data=_FORMAT.dumps(data),
                        created_at=at, seen_at=at))
    session.flush()
    return key


def save(session: Session, key: str, data: dict, at: datetime) -> bool:
    """Replace a session's data; False when it has been ended meanwhile (it is not brought back)."""
    done = session.execute(update(StaffSession).where(StaffSession.key_hash == _hash(key)).values(
        data=_FORMAT.dumps(data), user_id=_user_id(data), seen_at=at))
    return done.rowcount > 0


def touch(session: Session, key: str, at: datetime) -> None:
    """The session was used: restart its idle clock."""
    session.execute(update(StaffSession).where(StaffSession.key_hash == _hash(key)).values(seen_at=at))


def end(session: Session, key: str) -> None:
    """End one session (sign-out)."""
    session.execute(delete(StaffSession).where(StaffSession.key_hash == _hash(key)))


def end_all(session: Session, user_id: int) -> None:
    """End every session of a user (password reset, deactivation)."""
    session.execute(delete(StaffSession).where(StaffSession.user_id == user_id))




def decode(row: StaffSession) -> dict:
    """A session's data; empty when it cannot be read (written by another version: start afresh)."""
    try:
        return _FORMAT.loads(row.data)
    except ValueError:
        return {}
