"""A connection PostgreSQL has closed is replaced before a request uses it, with no ping on every request."""
from __future__ import annotations

import psycopg
import pytest
import sqlalchemy as sa

from scheduler import extensions
from scheduler.extensions import db


@pytest.fixture
def engine_name():
    return "postgresql"


def _pooled_backend(app) -> int:
    """The server process behind the connection the pool will hand out next."""
    with app.app_context():
        pid = db.session.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
        db.session.remove()
    return pid


def _terminate(database_url: str, pid: int) -> None:
    """What a restart does to every connection: the server ends it."""
    admin = sa.create_engine(database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        assert conn.execute(sa.text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid}).scalar()
    admin.dispose()


def test_a_connection_the_server_ended_costs_no_failed_request(app, client, api, database_url):
    ended = _pooled_backend(app)
    _terminate(database_url, ended)

    assert client.get("/healthz").status_code == 200
    assert api.get("/appointments/1").status_code == 404  # token checked, row looked up: the database answered
    assert _pooled_backend(app) != ended


def test_a_long_idle_connection_is_pinged(app, client, database_url, monkeypatch):
    """A server gone without a word (its machine rebooted) leaves no goodbye to see: the ping finds it."""
    ended = _pooled_backend(app)
    _terminate(database_url, ended)
    monkeypatch.setattr(extensions, "_said_goodbye", lambda _fd: False)  # the goodbye unseen
    monkeypatch.setattr(extensions, "PING_IDLE_SECONDS", 0.0)

    assert client.get("/healthz").status_code == 200
    assert _pooled_backend(app) != ended


def test_a_healthy_connection_is_used_as_it_is(app, client, monkeypatch):
    """No ping: the pool hands out the same connection, and the request's only statement is its own."""
    seen = []
    execute = psycopg.Cursor.execute

    def watched(cursor, query, *args, **kwargs):
        seen.append(str(query))  # below SQLAlchemy: a ping would show here too
        return execute(cursor, query, *args, **kwargs)

    first = _pooled_backend(app)
    monkeypatch.setattr(psycopg.Cursor, "execute", watched)
    assert client.get("/healthz").status_code == 200
    assert seen == ["SELECT 1"]
    monkeypatch.undo()
    assert _pooled_backend(app) == first
